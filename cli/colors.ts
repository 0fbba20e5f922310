// Colours for the terminal, decided per stream: on when the stream is a terminal (and TERM is not
// "dumb"), off when it is piped or NO_COLOR is set, on when FORCE_COLOR asks for them. picocolors'
// own default also turns colours on whenever CI is set, even into a pipe, which would put escape
// codes into files and into the output tests read: so abiscope decides here, once, for both streams.
import type { WriteStream } from 'node:tty';
import { createColors } from 'picocolors';

export type Colors = ReturnType<typeof createColors>;

export function wantsColor(stream: NodeJS.WriteStream | WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

/** Colours for what goes to standard output. */
export const pc: Colors = createColors(wantsColor(process.stdout));
/** Colours for what goes to standard error (error messages). */
export const pcErr: Colors = createColors(wantsColor(process.stderr));
