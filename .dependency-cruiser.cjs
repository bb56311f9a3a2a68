// The allowed directions between the folders of src/ (docs/architecture.md draws them). Checked in
// CI by `npm run depcruise`; a violation of an `error` rule fails the build.
const FEATURES = 'admin|audit|auth|chat|company|demo|erasure|export|health|http|recording|retention|security|socket|transcript|wiring';
// Under every feature, like common/: the metrics registry and the structured logger's setup.
const INFRA = 'metrics|logging';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No file imports itself through others.',
      from: {},
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment: 'No two folders import each other, directly or through others (type-only imports included).',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'common-imports-no-feature',
      severity: 'error',
      comment: 'src/common is below every feature: it imports none of them (nor config or database).',
      from: { path: '^src/common/' },
      to: { path: `^src/(${FEATURES}|config|database)/` },
    },
    {
      name: 'metrics-and-logging-import-no-feature',
      severity: 'error',
      comment:
        'src/metrics (the per-app prom-client registry) and src/logging (nestjs-pino setup, log context) are used by features and import none of them (config only).',
      from: { path: `^src/(${INFRA})/` },
      to: { path: `^src/(${FEATURES}|database)/` },
    },
    {
      name: 'common-imports-no-infra',
      severity: 'error',
      comment: 'src/common stays below metrics and logging too.',
      from: { path: '^src/common/' },
      to: { path: `^src/(${INFRA})/` },
    },
    {
      name: 'renderer-is-pure',
      severity: 'error',
      comment: 'Rendering and naming take a snapshot and return files: no feature, no database.',
      from: { path: '^src/transcript/(recording-renderer|transcript-renderer|filename-template|filename-[^/]+|recording-snapshot|vcon-[^/]+)\\.ts$' },
      to: { path: `^src/(${FEATURES}|${INFRA}|database|config)/`, pathNot: '^src/transcript/' },
    },
    {
      name: 'transcript-imports-no-feature',
      severity: 'error',
      comment: 'transcript owns the profiles and renders; it asks no other feature.',
      from: { path: '^src/transcript/' },
      to: { path: `^src/(${FEATURES})/`, pathNot: '^src/transcript/' },
    },
    {
      name: 'export-knows-no-recording',
      severity: 'error',
      comment: 'export moves files and reports outcomes through DeliverySource; it never reads recordings or transcripts.',
      from: { path: '^src/export/' },
      to: { path: '^src/(recording|transcript|admin|retention|socket)/' },
    },
    {
      name: 'export-imports-no-feature-above',
      severity: 'error',
      comment: 'export is below the features that use it; a feature event that wakes it is connected in src/wiring.',
      from: { path: '^src/export/' },
      to: { path: '^src/(chat|recording|transcript|admin|retention|socket|health|company|erasure)/' },
    },
    {
      name: 'recording-does-not-import-chat',
      severity: 'error',
      comment: 'chat uses recording; recording reads a chat through its own port (recording/chat-facts.port.ts) that chat implements.',
      from: { path: '^src/recording/' },
      to: { path: '^src/chat/' },
    },
    {
      name: 'socket-protocol-is-plain-types',
      severity: 'error',
      comment: 'The event maps are compiled into the client library (client/): they import plain types only.',
      from: { path: '^src/socket/(server|client)-events\\.ts$' },
      to: { pathNot: '^src/socket/(server|client)-events\\.ts$|^src/chat/message-view\\.ts$' },
    },
    {
      name: 'database-imports-no-feature',
      severity: 'error',
      comment: 'The database layer is below every feature: the entity list comes from the composition root.',
      from: { path: '^src/database/' },
      to: { path: `^src/(${FEATURES})/` },
    },
    {
      name: 'only-wiring-connects',
      severity: 'error',
      comment: 'src/wiring is the composition root that connects features (and lists their entities); no feature imports it (AppModule and the CLI do).',
      from: { path: '^src/', pathNot: '^src/(wiring/|cli/|app\\.module\\.ts$)' },
      to: { path: '^src/wiring/' },
    },
    {
      name: 'chat-knows-no-socket-or-export',
      severity: 'error',
      comment: 'chat fires typed events after its commits; sockets and the delivery worker listen.',
      from: { path: '^src/chat/' },
      to: { path: '^src/(socket|export|admin|health|retention|erasure)/' },
    },
    {
      name: 'nothing-imports-erasure',
      severity: 'error',
      comment: 'erasure sits on top: it uses chat, recording, export and audit through their services; only AppModule (and the entity list) imports it.',
      from: { path: '^src/', pathNot: '^src/(erasure/|wiring/entities\\.ts$|app\\.module\\.ts$)' },
      to: { path: '^src/erasure/' },
    },
    {
      name: 'socket-reads-no-tables',
      severity: 'error',
      comment: 'The socket transport calls chat services; it imports no entity or repository.',
      from: { path: '^src/socket/' },
      to: { path: '\\.(entity|repository)\\.ts$' },
    },
    {
      name: 'no-foreign-entity',
      severity: 'error',
      comment: 'Each table belongs to one feature; others ask its service (the entity registry excepted).',
      from: { path: '^src/([^/]+)/', pathNot: '^src/wiring/entities\\.ts$' },
      to: {
        path: '^src/[^/]+/[^/]+\\.entity\\.ts$',
        pathNot: '^src/$1/',
      },
    },
    {
      name: 'no-foreign-repository',
      severity: 'error',
      comment: "Other features use the owner's service, never its repository.",
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/[^/]+\\.repository\\.ts$', pathNot: '^src/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/|\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
