import type { RunningEmulators } from '../../../src/emulators/start-emulators.js';
import { boxContract } from '../../contract/box.contract.js';
import { boxTarget, startTestEmulators } from '../../helpers/emulator-targets.js';

// 2,500 devices: enough for several 1,000-row pages where an API pages that way.
let emulators: RunningEmulators;
beforeAll(async () => {
  emulators = await startTestEmulators({ fleet: { size: 2500, seed: 'contract' } });
});
afterAll(() => emulators.stop());

describe('box emulator speaks the box contract', () => {
  boxContract(() => boxTarget(emulators));
});
