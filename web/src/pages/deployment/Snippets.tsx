// How to call the endpoint (api/routes/endpoint.py): POST /v1/infer/{id}, `Authorization:
// Bearer <key>`, a multipart form with a `file`. The language shown lives in the URL.
import { useSearchParams } from "../../api/searchParams";
import { CopyButton } from "../../components/CopyButton";

const PLACEHOLDER = "YOUR_API_KEY";

const LANGUAGES = {
  curl: {
    name: "curl",
    code: (url: string, key: string) =>
      [
        `curl -X POST "${url}" \\`,
        `  -H "Authorization: Bearer ${key}" \\`,
        `  -F "file=@image.jpg"`,
      ].join("\n"),
  },
  python: {
    name: "Python",
    code: (url: string, key: string) =>
      [
        "import requests",
        "",
        'with open("image.jpg", "rb") as image:',
        "    answer = requests.post(",
        `        "${url}",`,
        `        headers={"Authorization": "Bearer ${key}"},`,
        '        files={"file": image},',
        "        timeout=60,",
        "    )",
        "answer.raise_for_status()",
        "print(answer.json())",
      ].join("\n"),
  },
  javascript: {
    name: "JavaScript",
    code: (url: string, key: string) =>
      [
        "const form = new FormData();",
        'form.append("file", fileInput.files[0]); // an <input type="file">',
        `const answer = await fetch("${url}", {`,
        '  method: "POST",',
        `  headers: { Authorization: "Bearer ${key}" },`,
        "  body: form,",
        "});",
        "if (!answer.ok) throw new Error((await answer.json()).error.message);",
        "console.log(await answer.json());",
      ].join("\n"),
  },
} as const;

type Language = keyof typeof LANGUAGES;

export function Snippets({ url, apiKey }: { url: string; apiKey: string | null }) {
  const [params, setParams] = useSearchParams();
  const asked = params.get("snippet");
  const language: Language = asked && asked in LANGUAGES ? (asked as Language) : "curl";
  const code = LANGUAGES[language].code(url, apiKey ?? PLACEHOLDER);
  return (
    <section className="card" aria-labelledby="snippets">
      <h2 id="snippets">Call the endpoint</h2>
      <fieldset className="language-choice">
        <legend>Language</legend>
        {(Object.keys(LANGUAGES) as Language[]).map((l) => (
          <label key={l} className="checkbox">
            <input
              type="radio"
              name="snippet-language"
              value={l}
              checked={l === language}
              onChange={() => {
                const next = new URLSearchParams(params);
                next.set("snippet", l);
                setParams(next, { replace: true });
              }}
            />
            {LANGUAGES[l].name}
          </label>
        ))}
      </fieldset>
      <p className="muted">
        {apiKey
          ? "With the key shown in this visit; it is not kept after a reload."
          : `Replace ${PLACEHOLDER} with the deployment's key (lost: make a new one above).`}
      </p>
      <figure className="snippet-figure">
        <figcaption>{LANGUAGES[language].name} example</figcaption>
        {/* Focusable: a keyboard can scroll it where it is wider than the screen. */}
        <pre className="snippet" tabIndex={0}>
          <code>{code}</code>
        </pre>
      </figure>
      <CopyButton text={code} label={`Copy the ${LANGUAGES[language].name} example`} />
    </section>
  );
}
