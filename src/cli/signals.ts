// Resolves on SIGINT/SIGTERM or after `seconds` (0 = no limit), whichever comes first.
export function waitForStop(seconds: number): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (timer) clearTimeout(timer);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    const timer = seconds > 0 ? setTimeout(() => done('duration'), seconds * 1000) : null;
  });
}
