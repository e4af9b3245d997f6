/**
 * `dspex config`: the configuration as `createMonitoring` would read it — printed (the token
 * redacted), or every problem with its source — and the generated reference / JSON Schema.
 *
 * @module
 */
import type { FlagValues } from './spec.js';
import type { configCommand } from './commands.js';
import { loadConfig } from '../config/sources.js';
import { configJsonSchema, configReferenceMarkdown } from '../config/reference.js';
import { redactConfig } from '../config/types.js';
import { isPythonBridgeError } from '../contract/errors.js';

/** Run `dspex config`; resolves to the exit code. */
export function runConfig(flags: FlagValues<typeof configCommand.flags>): Promise<number> {
  if (flags.reference === true) {
    process.stdout.write(configReferenceMarkdown());
    return Promise.resolve(0);
  }
  if (flags['json-schema'] === true) {
    process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
    return Promise.resolve(0);
  }
  try {
    const loaded = loadConfig({ configFile: flags.file });
    const shown = { file: loaded.file, sources: Object.fromEntries(loaded.sources), config: redactConfig(loaded.config) };
    process.stdout.write(JSON.stringify(shown, null, 2) + '\n');
    return Promise.resolve(0);
  } catch (err) {
    if (!isPythonBridgeError(err)) throw err;
    process.stderr.write(`dspex config: ${err.message}\n`);
    return Promise.resolve(1);
  }
}
