import { type FormEvent, useId, useState } from "react";
import { useAction } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";

export type ChatAnswer = components["schemas"]["ChatResponse"];

interface Turn {
  said: string;
  answer: ChatAnswer;
  filled: string[];
}

/** Describe the training in a sentence; the API reads it (Claude, or its own rules) and
 *  the answer fills the form through `onAnswer`. It never submits anything: the form's
 *  own button does, when the user presses it. */
export function ChatPanel({
  onAnswer,
  datasetName,
}: {
  onAnswer: (answer: ChatAnswer) => string[];
  /** The form's dataset, which a question about the dataset leaves as it is. */
  datasetName?: string | undefined;
}) {
  const id = useId();
  const [message, setMessage] = useState("");
  const [turns, setTurns] = useState<Turn[]>([]);
  const conversationId = turns.at(-1)?.answer.conversation_id ?? null;
  const send = useAction((api, text: string) =>
    api.POST("/api/v1/chat/message", {
      body: { message: text, conversation_id: conversationId },
    }),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    const said = message.trim();
    if (!said) return;
    const answer = await send.run(said);
    if (answer) {
      setTurns((t) => [...t, { said, answer, filled: onAnswer(answer) }]);
      setMessage("");
    }
  }

  return (
    <section className="card chat-panel" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Describe it instead</h2>
      <p className="muted">
        Say what to train in a sentence; the answer fills the form. Nothing starts until you
        press the form's button.
      </p>
      {turns.length ? (
        <ol className="chat-log" aria-label="Conversation">
          {turns.map((t, i) => (
            <li key={i}>
              <p className="chat-said">
                <span className="visually-hidden">You: </span>
                {t.said}
              </p>
              <ChatReply turn={t} datasetName={datasetName} />
            </li>
          ))}
        </ol>
      ) : null}
      <form className="form" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${id}-message`}>Message</label>
          <textarea
            id={`${id}-message`}
            rows={3}
            maxLength={4000}
            placeholder="train resnet18 for 2 epochs at 32 pixels"
            value={message}
            onChange={(e) => setMessage(e.target.value)}
            aria-invalid={send.error?.fieldErrors.message ? true : undefined}
          />
        </div>
        <ErrorMessage error={send.error} />
        <div className="actions">
          <button type="submit" disabled={send.pending || !message.trim()}>
            {send.pending ? "Reading…" : "Send"}
          </button>
          {turns.length ? (
            <button type="button" className="secondary" onClick={() => setTurns([])}>
              New conversation
            </button>
          ) : null}
        </div>
      </form>
    </section>
  );
}

function ChatReply({ turn, datasetName }: { turn: Turn; datasetName?: string | undefined }) {
  const { answer, filled } = turn;
  const reader =
    answer.parser === "llm" ? "Read by Claude" : "Read by the API's rule-based parser";
  return (
    <div className="chat-reply" role="status">
      {/* A reply that asks is the questions in one sentence: the list says it better. */}
      {answer.questions.length ? <p>The API needs to know more:</p> : <p>{answer.reply}</p>}
      {answer.questions.length ? (
        <ul className="chat-questions">
          {answer.questions.map((q) => (
            <li key={q.field}>
              {q.question}
              {q.options?.length ? <span className="muted"> ({q.options.join(", ")})</span> : null}
              {q.field === "dataset_id" && datasetName ? (
                <span className="muted"> The form keeps {datasetName}.</span>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      <p className="muted">
        {filled.length ? `Filled in the form: ${filled.join(", ")}.` : "The form is unchanged."}{" "}
        {reader}
        {answer.fallback_reason ? ` (${answer.fallback_reason})` : ""}.
      </p>
    </div>
  );
}
