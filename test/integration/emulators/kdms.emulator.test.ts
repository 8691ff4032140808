import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { kdmsContract } from '../../contract/kdms.contract.js';
import { kdmsTarget, startTestEmulators } from '../../helpers/emulator-targets.js';

// 2,500 devices: enough for several 1,000-row pages where an API pages that way.
let emulators: RunningEmulators;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 2500, seed: 'contract' } });
});
afterAll(() => emulators.stop());

describe('kdms emulator speaks the kdms contract', () => {
  kdmsContract(() => kdmsTarget(emulators));
});
