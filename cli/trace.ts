// `abiscope trace`: the call of `abiscope call`, traced, then a debugger-style view of everything
// it ran (cli/trace-view.ts), and the files of --trace-out, --tenet, --chrome-trace (cli/trace-files.ts).
import { openCall, type CallOptions } from './call.ts';
import { TraceOutputs, type TraceCliOptions } from './trace-files.ts';
import { traceView } from './trace-view.ts';
import { pc } from './colors.js';

export type TraceCommandOptions = CallOptions & TraceCliOptions;

/**
 * `abiscope trace`: the call of `abiscope call`, traced, then the view of what it ran on
 * stdout (and the files asked for). A call that fails still shows its trace, then fails.
 */
export async function runTrace(o: TraceCommandOptions): Promise<number> {
  const outputs = TraceOutputs.from(o, true)!;
  // What the guest prints goes to stderr as it happens, as with `call`.
  const call = await openCall(o, (_fd, text) => process.stderr.write(text));
  try {
    const f = call.func(outputs.request(call.sb));
    let failure: { error: unknown } | undefined;
    try {
      outputs.around(() => f(...call.args));
    } catch (error) {
      failure = { error };
    }
    const trace = outputs.trace;
    if (trace) process.stdout.write(traceView(trace, pc));
    if (failure) throw failure.error;
    return 0;
  } finally {
    call.sb.close();
  }
}
