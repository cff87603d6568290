import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { testServices } from '../../test/services.ts';
import { relaunchLocalService, startLocalServices, stopLocalServices } from './process-supervisor.ts';

// The services that test/global-setup.ts started through infra/local/process-supervisor.ts really work.
describe('local services', () => {
  const services = testServices();

  it('kafka: creates a topic, produces and consumes a message', async () => {
    const kafka = new Kafka({
      clientId: 'services-int-test',
      brokers: [services.kafkaBrokers],
      logLevel: logLevel.WARN,
    });
    const topic = `services-test-${randomUUID()}`;
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const consumer = kafka.consumer({ groupId: `services-test-${randomUUID()}` });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'view-1', value: 'hello from livepulse' }] });

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<{ key: string; value: string }>((resolve) => {
        void consumer.run({
          eachMessage: ({ message }) => {
            resolve({ key: String(message.key), value: String(message.value) });
            return Promise.resolve();
          },
        });
      });
      expect(await received).toEqual({ key: 'view-1', value: 'hello from livepulse' });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });

  it('redis: sets and gets a key', async () => {
    const redis = new Redis(services.redisUrl, { lazyConnect: true });
    try {
      await redis.connect();
      const key = `services-test:${randomUUID()}`;
      await redis.set(key, 'value', 'EX', 60);
      expect(await redis.get(key)).toBe('value');
    } finally {
      redis.disconnect();
    }
  });

  it('s3: puts and gets an object in the test bucket', async () => {
    const { endpoint, region, bucket, accessKeyId, secretAccessKey } = services.s3;
    const s3 = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    const key = `services-test/${randomUUID()}.txt`;
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'segment bytes', ContentType: 'text/plain' }),
      );
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=8-12' }));
      expect(await object.Body?.transformToString()).toBe('bytes');
    } finally {
      s3.destroy();
    }
  });

  it('clickhouse: answers SELECT 1 over HTTP', async () => {
    const response = await fetch(`${services.clickhouseUrl}/?query=${encodeURIComponent('SELECT 1')}`);
    expect(response.status).toBe(200);
    expect((await response.text()).trim()).toBe('1');
  });

  it('a service whose fixed port is taken fails at once and says the address is in use; one on free ports starts', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'livepulse-services-'));
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (squatter.address() as AddressInfo).port;
      await expect(relaunchLocalService('redis', stateDir, taken)).rejects.toThrow(
        /redis: .* exited with .* while starting[\s\S]*address already in use/i,
      );
      const started = await startLocalServices(['redis'], { stateDir });
      expect(started.endpoints.redisUrl).not.toContain(`:${taken}`);
      await started.stop();
    } finally {
      squatter.close();
      await stopLocalServices(stateDir, ['redis']);
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
