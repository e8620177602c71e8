// Per-draft steady-state timing of textlint through its Node API (createLinter + lintText).
// Usage: node steady.mjs INPUT.json  where INPUT is {"config", "drafts": [...], "passes", "warmup"}.
// Prints {"load_ms", "times_us": [...], "messages"} on stdout.
import { readFileSync } from "node:fs";
import { createLinter, loadTextlintrc } from "textlint";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const t0 = process.hrtime.bigint();
const descriptor = await loadTextlintrc({ configFilePath: input.config });
const linter = createLinter({ descriptor });
// The first lintText loads and compiles the prh dictionary: count it as load, like our load_rules.
await linter.lintText("ウォームアップ", "warmup.txt");
const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

for (let i = 0; i < input.warmup; i++) {
  await linter.lintText(input.drafts[i % input.drafts.length], "draft.txt");
}
const times = [];
let messages = 0;
for (let p = 0; p < input.passes; p++) {
  for (const text of input.drafts) {
    const start = process.hrtime.bigint();
    const result = await linter.lintText(text, "draft.txt");
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
    if (p === 0) messages += result.messages.length;
  }
}
process.stdout.write(JSON.stringify({ load_ms: loadMs, times_us: times, messages }));
