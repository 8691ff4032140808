import { spawn } from 'node:child_process';

/**
 * One of the repo's TypeScript entry points run as a user runs it (a separate node process with the
 * same loader as the npm scripts), its stdout and stderr collected.
 */
export interface TsProcess {
  /** Everything printed so far, stdout and stderr interleaved. */
  readonly output: string;
  /** The first capture group of `pattern` in the output; throws, showing the output, when absent. */
  find(pattern: RegExp): string;
  /** Sends SIGTERM and resolves with the exit code. */
  terminate(): Promise<number | null>;
  /** For afterAll: kills it if it is still running. */
  kill(): void;
}

export async function startTsProcess(
  script: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; readyWhen: string },
): Promise<TsProcess> {
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', script, ...args], {
    env: options.env,
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await new Promise<void>((resolve, reject) => {
    // Banners for people go to stderr (stdout carries JSON log lines): either stream may say it is ready.
    const ready = () => output.includes(options.readyWhen) && resolve();
    child.stdout.on('data', ready);
    child.stderr.on('data', ready);
    child.once('exit', (code) =>
      reject(new Error(`${script} ${args.join(' ')} exited with ${code}:\n${output}`)),
    );
  });
  return {
    get output() {
      return output;
    },
    find(pattern) {
      const match = pattern.exec(output);
      if (!match?.[1]) throw new Error(`not in the output (${pattern}):\n${output}`);
      return match[1];
    },
    terminate() {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
