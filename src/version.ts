import { readFileSync } from 'node:fs';

/** pachbackup's version, from package.json (recorded in every manifest). */
export const PACHBACKUP_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();
