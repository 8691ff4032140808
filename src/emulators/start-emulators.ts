import { BoxEmulator } from './box/box.emulator.js';
import type { BoxEmulatorOptions } from './box/box.emulator.js';
import { createSeededFleet } from './fleet/seeded-fleet.js';
import type { SeededFleet, SeededFleetOptions } from './fleet/seeded-fleet.js';
import { KdmsEmulator } from './kdms/kdms.emulator.js';
import type { KdmsEmulatorOptions } from './kdms/kdms.emulator.js';
import { KnoxManageEmulator } from './knox-manage/knox-manage.emulator.js';
import type { KnoxManageEmulatorOptions } from './knox-manage/knox-manage.emulator.js';

/** Documented default ports of `npm run emulators`. */
export const DEFAULT_EMULATOR_PORTS = { kdms: 4101, knoxManage: 4102, box: 4103 } as const;

export type EmulatorName = keyof typeof DEFAULT_EMULATOR_PORTS;

export interface StartEmulatorsOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /**
   * Host names the emulators answer to besides IP addresses, localhost and `host` (e.g. a compose
   * service name); any other Host header is refused, as DNS rebinding would send it.
   */
  allowedHosts?: readonly string[];
  /** Per emulator; 0 picks a free port. Defaults to 4101–4103. */
  ports?: Partial<Record<EmulatorName, number>>;
  /** The shared fleet, or how to seed it (default: 1,000 devices, seed "fleetgraph"). */
  fleet?: SeededFleet | SeededFleetOptions;
  kdms?: Omit<KdmsEmulatorOptions, 'fleet'>;
  knoxManage?: Omit<KnoxManageEmulatorOptions, 'fleet'>;
  box?: Omit<BoxEmulatorOptions, 'fleet'>;
}

export interface RunningEmulators {
  fleet: SeededFleet;
  kdms: KdmsEmulator;
  knoxManage: KnoxManageEmulator;
  box: BoxEmulator;
  /** Base URL of each emulator, e.g. `http://127.0.0.1:4101`. */
  urls: Record<EmulatorName, string>;
  /** `{ "<METHOD> <path>": count }` per emulator, as `GET /_emulator/requests` answers. */
  requestCounts(): Record<EmulatorName, Record<string, number>>;
  resetCounts(): void;
  stop(): Promise<void>;
}

function isFleet(value: SeededFleet | SeededFleetOptions | undefined): value is SeededFleet {
  return typeof value === 'object' && value !== null && 'devices' in value;
}

export async function startEmulators(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  const fleet = isFleet(options.fleet) ? options.fleet : createSeededFleet(options.fleet);
  const host = options.host ?? '127.0.0.1';
  const port = (name: EmulatorName): number => options.ports?.[name] ?? DEFAULT_EMULATOR_PORTS[name];
  const listen = { allowedHosts: options.allowedHosts ?? [] };
  const kdms = await KdmsEmulator.create({ ...options.kdms, fleet });
  const knoxManage = new KnoxManageEmulator({ ...options.knoxManage, fleet });
  const box = new BoxEmulator({ ...options.box, fleet });
  const all = { kdms, knoxManage, box };
  const stop = async (): Promise<void> => {
    await Promise.all([kdms.close(), knoxManage.close(), box.close()]);
  };
  try {
    const urls = {
      kdms: await kdms.http.listen(port('kdms'), host, listen),
      knoxManage: await knoxManage.http.listen(port('knoxManage'), host, listen),
      box: await box.http.listen(port('box'), host, listen),
    };
    return {
      fleet,
      ...all,
      urls,
      requestCounts: () => ({
        kdms: kdms.http.requestCounts(),
        knoxManage: knoxManage.http.requestCounts(),
        box: box.http.requestCounts(),
      }),
      resetCounts: () => Object.values(all).forEach((e) => e.http.resetCounts()),
      stop,
    };
  } catch (error) {
    // A port in use must not leave the other emulators listening.
    await stop();
    throw error;
  }
}
