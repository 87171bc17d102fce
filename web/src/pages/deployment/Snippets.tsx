// How to call the endpoint (api/routes/endpoint.py): POST /v1/infer/{id}, `Authorization:
// Bearer <key>`, a multipart form with a `file`. The language shown lives in the URL.
import { useSearchParams } from "react-router";
import { CopyButton } from "../../components/CopyButton";

const PLACEHOLDER = "YOUR_API_KEY";

const LANGUAGES = {
  curl: {
    name: "curl",
    code: (url: string, key: string) =>
      `curl -X POST "${url}" \\\n  -H "Authorization: Bearer ${key}" \\\n  -F "file=@image.jpg"`,
  },
  python: {
    name: "Python",
    code: (url: string, key: string) =>
      `import requests\n\nwith open("image.jpg", "rb") as image:\n    answer = requests.post(\n        "${url}",\n        headers={"Authorization": "Bearer ${key}"},\n        files={"file": image},\n        timeout=60,\n    )\nanswer.raise_for_status()\nprint(answer.json())`,
  },
  javascript: {
    name: "JavaScript",
    code: (url: string, key: string) =>
      `const form = new FormData();\nform.append("file", fileInput.files[0]); // an <input type="file">\nconst answer = await fetch("${url}", {\n  method: "POST",\n  headers: { Authorization: "Bearer ${key}" },\n  body: form,\n});\nif (!answer.ok) throw new Error((await answer.json()).error.message);\nconsole.log(await answer.json());`,
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
          : `Replace ${PLACEHOLDER} with the deployment's key (make a new one below if it is lost).`}
      </p>
      <pre className="snippet" aria-label={`${LANGUAGES[language].name} example`} tabIndex={0}>
        <code>{code}</code>
      </pre>
      <CopyButton text={code} label={`Copy the ${LANGUAGES[language].name} example`} />
    </section>
  );
}
