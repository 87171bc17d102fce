// The console's API types, from the API's own OpenAPI document (web/openapi.json,
// written by scripts/openapi.py): src/api/schema.d.ts. Uploaded files become Blob, so
// a multipart body is typed with the File objects a file input gives.
// Usage: node scripts/openapi-types.mjs [openapi.json] [schema.d.ts]
import { readFile, writeFile } from "node:fs/promises";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const [input = "openapi.json", output = "src/api/schema.d.ts"] = process.argv.slice(2);
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));

const schema = JSON.parse(await readFile(input, "utf8"));
const ast = await openapiTS(schema, {
  transform(schemaObject) {
    const binary =
      schemaObject.format === "binary" ||
      schemaObject.contentMediaType === "application/octet-stream";
    if (binary && schemaObject.type === "string") return BLOB;
    return undefined;
  },
});
const text =
  "// Generated from the API's OpenAPI by scripts/openapi-types.mjs: do not edit.\n" +
  astToString(ast);
let previous = null;
try {
  previous = await readFile(output, "utf8");
} catch {
  // first build
}
if (previous !== text) await writeFile(output, text);
