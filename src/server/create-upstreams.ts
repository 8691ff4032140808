import type { StoreFactory } from '../cache/create-store.js';
import type { UpstreamsConfig } from '../config/config.js';
import { UpstreamReads } from '../loaders/upstream-reads.js';
import { ClientCredentialsTokenProvider } from '../upstreams/auth/client-credentials.js';
import { BoxClient } from '../upstreams/box/box.client.js';
import { KdmsClient } from '../upstreams/kdms/kdms.client.js';
import { KnoxManageClient } from '../upstreams/knox-manage/knox-manage.client.js';
import { KNOX_MANAGE_TOKEN_PATH } from '../upstreams/knox-manage/knox-manage.wire.js';
import { UpstreamHttp } from '../upstreams/upstream-http.js';
import type { UpstreamHttpOptions } from '../upstreams/upstream-http.js';

/** process-wide: one client, one keep-alive agent and one token provider per upstream. */
export interface Upstreams {
  kdms: KdmsClient;
  knoxManage: KnoxManageClient;
  box: BoxClient;
  reads: UpstreamReads;
  tokenProviders: { kdms: ClientCredentialsTokenProvider; knoxManage: ClientCredentialsTokenProvider };
}

export interface CreateUpstreamsOptions {
  config: UpstreamsConfig;
  stores: StoreFactory;
  readCacheTtlMs: number;
  timeoutMs: number;
  onCall?: UpstreamHttpOptions['onCall'];
}

export function createUpstreams({
  config,
  stores,
  readCacheTtlMs,
  timeoutMs,
  onCall,
}: CreateUpstreamsOptions): Upstreams {
  const tokens = stores.create('tokens');
  const kdmsHttp = new UpstreamHttp({ upstream: 'KDMS', baseUrl: config.kdms.url, timeoutMs, onCall });
  const knoxManageHttp = new UpstreamHttp({
    upstream: 'KNOX_MANAGE',
    baseUrl: config.knoxManage.url,
    timeoutMs,
    onCall,
  });
  const boxHttp = new UpstreamHttp({ upstream: 'BOX', baseUrl: config.box.url, timeoutMs, onCall });
  const kdmsTokens = new ClientCredentialsTokenProvider(kdmsHttp, { ...config.kdms }, tokens);
  const knoxManageTokens = new ClientCredentialsTokenProvider(
    knoxManageHttp,
    {
      tokenUrl: config.knoxManage.url + KNOX_MANAGE_TOKEN_PATH,
      clientId: config.knoxManage.clientId,
      clientSecret: config.knoxManage.clientSecret,
    },
    tokens,
  );
  const kdms = new KdmsClient(kdmsHttp, kdmsTokens, {
    kwnUrl: config.kdms.kwnUrl,
    certificateUrl: config.kdms.certificateUrl,
  });
  const knoxManage = new KnoxManageClient(knoxManageHttp, knoxManageTokens);
  const box = new BoxClient(boxHttp, config.box.apiKey);
  return {
    kdms,
    knoxManage,
    box,
    reads: new UpstreamReads(knoxManage, box, stores.create('reads'), readCacheTtlMs),
    tokenProviders: { kdms: kdmsTokens, knoxManage: knoxManageTokens },
  };
}
