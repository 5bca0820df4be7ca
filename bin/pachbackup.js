#!/usr/bin/env node
// Entry point of the published CLI: the compiled composition root (`npm run build` writes dist/).
// The AWS SDK warns on every start that future releases need Node 22; the image runs Node 22 already.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('pachbackup is not built yet: run `npm run build` first.');
    process.exit(1);
  }
  throw err;
});
