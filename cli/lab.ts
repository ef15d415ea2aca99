import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number 0-65535 (0 = any free port)');
  return n;
}

/**
 * `netdiag lab`: start the CloudStack and NVP simulators seeded from lab/inventory.ts and keep
 * them running until interrupted, printing how to point netdiag (or curl) at them. The
 * credentials are the lab's fixed test credentials, not secrets.
 */
export function registerLab(program: Command): void {
  program
    .command('lab')
    .description('start the CloudStack and NVP API simulators (seeded lab inventory with known leaks) until Ctrl-C')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--cloudstack-port <n>', 'CloudStack simulator port (0 = any free port)', port, 0)
    .option('--nvp-port <n>', 'NVP simulator port (0 = any free port)', port, 0)
    .action(async (opts: { host: string; cloudstackPort: number; nvpPort: number }) => {
      // Loaded here so the other commands never depend on the lab code.
      const [{ startCloudStackSimulator }, { startNvpSimulator }] = await Promise.all([import('../lab/cloudstack/server.js'), import('../lab/nvp/server.js')]);
      const cs = await startCloudStackSimulator({ host: opts.host, port: opts.cloudstackPort });
      const nvp = await startNvpSimulator({ host: opts.host, port: opts.nvpPort });
      process.stdout.write(
        [
          'netdiag lab: simulators running (seeded from lab/inventory.ts; lab credentials, not secrets)',
          `  CloudStack API  ${cs.url}`,
          `    api key       ${cs.apiKey}`,
          `    secret key    ${cs.secretKey}`,
          `  NVP controller  ${nvp.url}`,
          `    user          ${nvp.user}`,
          `    password      ${nvp.password}`,
          '',
          'Try:',
          `  export NETDIAG_CLOUDSTACK_URL=${cs.url} NETDIAG_API_KEY=${cs.apiKey} NETDIAG_SECRET_KEY=${cs.secretKey}`,
          `  export NETDIAG_NVP_URL=${nvp.url} NETDIAG_NVP_USER=${nvp.user} NETDIAG_NVP_PASSWORD=${nvp.password}`,
          '  netdiag diagnose --bundle examples/bundle',
          '',
          'Ctrl-C stops them.',
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await Promise.allSettled([cs.close(), nvp.close()]);
      process.stdout.write('netdiag lab: stopped\n');
    });
}
