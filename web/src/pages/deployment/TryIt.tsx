// One call of the endpoint from the browser, as a client makes it (the API key, not the
// login): the answer drawn over the image, its raw JSON and its latency. Not through the
// typed client: that one would send the login's token and treat a 401 as a lost session.
import { type FormEvent, useEffect, useId, useState } from "react";
import { apiUrl } from "../../api/client";
import { ApiError, networkError, toApiError } from "../../api/errors";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Field } from "../../components/Field";

interface Prediction {
  class_id: number;
  class_name: string;
  confidence: number;
  bbox?: [number, number, number, number];
}

interface Answer {
  task_type?: string;
  width: number;
  height: number;
  classes: Prediction[];
  instances: Prediction[];
  latency_ms?: number;
}

const COLOURS = ["#f43f5e", "#3b82f6", "#22c55e", "#eab308", "#a855f7", "#06b6d4", "#f97316"];

function percent(confidence: number): string {
  return `${(confidence * 100).toFixed(1)}%`;
}

async function infer(deploymentId: string, apiKey: string, file: File) {
  const form = new FormData();
  form.append("file", file);
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(apiUrl(`/v1/infer/${deploymentId}`), {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}` },
      body: form,
    });
  } catch (cause) {
    throw networkError(apiUrl(""), cause);
  }
  const text = await response.text();
  const roundTrip = performance.now() - started;
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  if (!response.ok) throw toApiError(response.status, body);
  return { answer: body as Answer, raw: text, roundTrip };
}

export function TryIt({
  deploymentId,
  shownKey,
  onCalled,
}: {
  deploymentId: string;
  shownKey: string | null;
  /** After an answered call: what shows the call (usage, "last called") reads again. */
  onCalled?: () => void;
}) {
  const id = useId();
  const [apiKey, setApiKey] = useState(shownKey ?? "");
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [result, setResult] = useState<Awaited<ReturnType<typeof infer>> | null>(null);

  useEffect(() => {
    if (shownKey) setApiKey(shownKey); // a key made after the page opened
  }, [shownKey]);
  useEffect(() => {
    if (!file) return setPreview(null);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setResult(null);
    if (!file) return setError(new ApiError(0, "no_file", "Choose an image first."));
    if (!apiKey.trim()) {
      return setError(new ApiError(0, "no_key", "Enter the deployment's API key."));
    }
    setPending(true);
    try {
      setResult(await infer(deploymentId, apiKey.trim(), file));
      // The endpoint meters a call just after answering it: read the usage a moment later.
      if (onCalled) window.setTimeout(onCalled, 500);
    } catch (caught) {
      const why = caught instanceof ApiError ? caught : null;
      setError(why ?? new ApiError(0, "client_error", String(caught)));
    } finally {
      setPending(false);
    }
  }

  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Try it</h2>
      <form className="form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${id}-image`}>Image</label>
          <input
            id={`${id}-image`}
            type="file"
            accept="image/*"
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null);
              setResult(null);
            }}
          />
        </div>
        <Field
          label="API key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={apiKey}
          onChange={(e) => setApiKey(e.target.value)}
          hint={shownKey ? "The key shown in this visit." : "A key is shown only when it is made."}
        />
        <div className="actions">
          <button type="submit" disabled={pending}>
            {pending ? "Predicting…" : "Predict"}
          </button>
        </div>
        <ErrorMessage error={error} />
      </form>
      {preview ? (
        <Drawn preview={preview} name={file?.name ?? "image"} answer={result?.answer ?? null} />
      ) : null}
      {result ? <Details result={result} /> : null}
    </section>
  );
}

/** The image with what the model found: boxes over it (detection) or its top label. */
function Drawn({
  preview,
  name,
  answer,
}: {
  preview: string;
  name: string;
  answer: Answer | null;
}) {
  const boxes = (answer?.instances ?? []).filter((p) => p.bbox);
  const top = answer?.classes[0];
  const label = !answer
    ? name
    : top
      ? `${name}: ${top.class_name} ${percent(top.confidence)}`
      : `${name}: ${boxes.length} ${boxes.length === 1 ? "object" : "objects"}`;
  const stroke = answer ? Math.max(answer.width, answer.height) / 150 : 1;
  return (
    <figure className="try-it-figure">
      <div
        className="try-it-frame"
        style={answer ? { aspectRatio: `${answer.width} / ${answer.height}` } : undefined}
      >
        <img src={preview} alt={label} />
        {answer && boxes.length ? (
          <svg viewBox={`0 0 ${answer.width} ${answer.height}`} aria-hidden="true">
            {boxes.map((p, i) => {
              const [x, y, w, h] = p.bbox!;
              const colour = COLOURS[p.class_id % COLOURS.length];
              return (
                <g key={i}>
                  <rect
                    x={x}
                    y={y}
                    width={w}
                    height={h}
                    fill="none"
                    stroke={colour}
                    strokeWidth={stroke}
                  />
                  <text x={x + stroke} y={y + stroke * 8} fill={colour} fontSize={stroke * 7}>
                    {p.class_name} {percent(p.confidence)}
                  </text>
                </g>
              );
            })}
          </svg>
        ) : null}
        {top ? (
          <span className="try-it-label" aria-hidden="true">
            {top.class_name} {percent(top.confidence)}
          </span>
        ) : null}
      </div>
      {answer ? <figcaption>{label}</figcaption> : null}
    </figure>
  );
}

function Details({ result }: { result: Awaited<ReturnType<typeof infer>> }) {
  const { answer, raw, roundTrip } = result;
  const predictions = answer.classes.length ? answer.classes : answer.instances;
  return (
    <div className="try-it-result">
      <p role="status">
        Latency:{" "}
        {answer.latency_ms !== undefined ? `${answer.latency_ms.toFixed(1)} ms in the API, ` : ""}
        {roundTrip.toFixed(0)} ms round trip.
      </p>
      {predictions.length ? (
        <table>
          <caption>Predictions</caption>
          <thead>
            <tr>
              <th scope="col">Class</th>
              <th scope="col">Confidence</th>
              {answer.instances.length ? <th scope="col">Box (x, y, w, h)</th> : null}
            </tr>
          </thead>
          <tbody>
            {predictions.map((p, i) => (
              <tr key={i}>
                <th scope="row">{p.class_name}</th>
                <td>{percent(p.confidence)}</td>
                {p.bbox ? <td>{p.bbox.map((v) => Math.round(v)).join(", ")}</td> : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>The model found nothing above the confidence threshold.</p>
      )}
      <figure className="snippet-figure">
        <figcaption>Raw answer</figcaption>
        <pre className="snippet" tabIndex={0}>
          <code>{JSON.stringify(JSON.parse(raw), null, 2)}</code>
        </pre>
      </figure>
    </div>
  );
}
