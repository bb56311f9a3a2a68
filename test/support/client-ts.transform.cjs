// The client library's source (client/src) is ESM (client/package.json); jest runs it as CommonJS.
// ts-jest keeps one compiler setup per jest project whatever the transformer's options, so these
// files are transpiled here instead (their types are checked by client/tsconfig.json).
const ts = require('typescript');
const crypto = require('node:crypto');

module.exports = {
  getCacheKey(source, filename) {
    return crypto.createHash('sha1').update('client-v1').update(ts.version).update(filename).update(source).digest('hex');
  },
  process(source, filename) {
    const out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        sourceMap: false,
        inlineSourceMap: true,
        inlineSources: true,
      },
    });
    return { code: out.outputText };
  },
};
