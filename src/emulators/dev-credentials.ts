/**
 * Development credentials the emulators accept out of the box and `npm start` uses in embedded mode.
 * They unlock only the local emulators; anything else is refused the way the real API refuses it.
 */
export const DEV_CREDENTIALS = {
  kdms: { clientId: 'fleetgraph-dev', clientSecret: 'fleetgraph-dev-secret' },
  knoxManage: { clientId: 'fleetgraph-dev@fleetgraph.test', clientSecret: 'fleetgraph-dev-secret' },
  box: { apiKey: 'fleetgraph-dev-key' },
} as const;
