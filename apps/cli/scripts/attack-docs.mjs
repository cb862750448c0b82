// Rewrites the attack list of README.md (between the attacks:start/end markers) from the
// selftest package's ATTACKS. Run after `pnpm build`: pnpm --filter @beddel/cli docs:attacks
import { readFile, writeFile } from 'node:fs/promises';
import { attackListMarkdown } from '../dist/commands/selftest.js';

const readme = new URL('../README.md', import.meta.url);
const text = await readFile(readme, 'utf8');
const pattern = /(<!-- attacks:start -->\n)[\s\S]*?(<!-- attacks:end -->)/;
if (!pattern.test(text)) throw new Error('README.md has no <!-- attacks:start --> ... <!-- attacks:end --> section');
await writeFile(readme, text.replace(pattern, (_match, start, end) => `${start}${attackListMarkdown()}\n${end}`));
console.log('README.md: attack list updated');
