import { InitialSchema1795289551013 } from './1795289551013-initial-schema';

// Listed explicitly (no globs) so the compiled app and the CLI load exactly these, in order.
export const MIGRATIONS = [InitialSchema1795289551013];
