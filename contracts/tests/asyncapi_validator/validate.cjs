// Validates an AsyncAPI document with the official parser (@asyncapi/parser), refs resolved.
// Usage: node validate.cjs PARSER_DIR DOCUMENT; prints one JSON line of diagnostics; exit 0 when valid.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");

async function main() {
  const [parserDir, documentPath] = process.argv.slice(2);
  const requireFromCache = createRequire(path.join(parserDir, "package.json"));
  const { Parser, fromFile } = requireFromCache("@asyncapi/parser");
  const parser = new Parser();
  const { document, diagnostics } = await fromFile(parser, path.resolve(documentPath)).parse();
  const severities = ["error", "warning", "information", "hint"];
  const report = diagnostics.map((d) => ({
    severity: severities[d.severity] || String(d.severity),
    code: d.code,
    message: d.message,
    path: (d.path || []).join("/"),
  }));
  const summary = document
    ? {
        asyncapi: document.version(),
        channels: document.channels().length,
        operations: document.operations().length,
        messages: document.allMessages().length,
      }
    : null;
  process.stdout.write(JSON.stringify({ valid: Boolean(document), summary, diagnostics: report }) + "\n");
  process.exit(document ? 0 : 1);
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error) + "\n");
  process.exit(2);
});
