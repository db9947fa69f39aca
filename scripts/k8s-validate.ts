/**
 * `npm run k8s:validate` (CI): renders every overlay under k8s/overlays and checks it offline —
 * schemas (unknown fields are errors) and the K1 policy. One line per overlay, one line per
 * problem as `overlay/kind/name: path: message`; exit 1 on any problem.
 */
import { join } from 'node:path';
import { validateAll } from './lib/k8s/validate';

const root = join(__dirname, '..', '..');
let failed = false;
for (const report of validateAll(root)) {
  const counts = Object.entries(report.counts).map(([kind, count]) => `${count} ${kind}`).join(', ');
  process.stdout.write(`${report.overlay}: ${report.problems.length === 0 ? 'ok' : `${report.problems.length} problem(s)`} (${counts || 'nothing rendered'})\n`);
  for (const problem of report.problems) process.stdout.write(`${report.overlay}/${problem.object}: ${problem.path}: ${problem.message}\n`);
  failed ||= report.problems.length > 0;
}
process.exitCode = failed ? 1 : 0;
