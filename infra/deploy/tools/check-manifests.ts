import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { isPinnedImage } from './check-compose.ts';

/**
 * Livepulse's invariants of the Helm chart, on its values (no helm needed) and on what
 * `helm template` renders, plus schema validation of the custom resources (KEDA ScaledObject,
 * Prometheus Operator ServiceMonitor) that kubernetes-validate has no schema for.
 */

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};

export function parseManifests(text: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`YAML: ${document.errors.map((e) => e.message).join('; ')}`);
    const value = document.toJS() as Manifest | null;
    if (value) manifests.push(value);
  }
  return manifests;
}

interface ServiceValues {
  enabled: boolean;
  kind: 'http' | 'consumer';
  /** Services the deployment starts; the entry's name when absent. */
  run?: string[];
  replicas: number;
  terminationGracePeriodSeconds: number;
  autoscaling?: { enabled: boolean; minReplicas: number; maxReplicas: number };
  pdb?: { enabled: boolean; minAvailable?: number; maxUnavailable?: number };
  keda?: {
    enabled: boolean;
    minReplicaCount: number;
    maxReplicaCount: number;
    triggers: Array<{ topic: string; consumerGroup: string; lagThreshold: number }>;
  };
  ingress?: { paths: string[]; annotations?: Record<string, string> };
}

export interface ChartValues {
  image: { repository: string; tag: string };
  kafka: { partitions: number; topicPrefix: string };
  keda: { enabled: boolean };
  preStopSleepSeconds: number;
  services: Record<string, ServiceValues>;
}

/** Drain time a pod needs after its preStop sleep, at the least. */
const MIN_DRAIN_SECONDS = 15;

export function checkChartValues(values: ChartValues, services: string[], topics: string[]): string[] {
  const problems: string[] = [];
  if (!isPinnedImage(`${values.image.repository}:${values.image.tag}`))
    problems.push(`image.tag "${values.image.tag}" is not pinned`);
  const deployed = new Set(Object.entries(values.services).flatMap(([name, svc]) => svc.run ?? [name]));
  for (const name of services)
    if (!deployed.has(name)) problems.push(`services.${name}: app/services.ts has it, the chart does not`);
  for (const [name, svc] of Object.entries(values.services)) {
    for (const run of svc.run ?? [])
      if (!services.includes(run)) problems.push(`services.${name}.run: ${run} is not a livepulse service`);
  }
  for (const [name, svc] of Object.entries(values.services)) {
    const where = `services.${name}`;
    if (svc.terminationGracePeriodSeconds < values.preStopSleepSeconds + MIN_DRAIN_SECONDS) {
      problems.push(
        `${where}.terminationGracePeriodSeconds (${svc.terminationGracePeriodSeconds}) leaves under ${MIN_DRAIN_SECONDS}s to drain after the ${values.preStopSleepSeconds}s preStop sleep`,
      );
    }
    if (!svc.pdb?.enabled) problems.push(`${where}: no PodDisruptionBudget`);
    if (svc.kind === 'consumer') {
      if (!svc.keda?.enabled || !svc.keda.triggers?.length)
        problems.push(`${where}: a Kafka consumer without a KEDA ScaledObject`);
      if (svc.autoscaling?.enabled)
        problems.push(`${where}: a consumer must not also have a CPU HPA (KEDA owns its HPA)`);
      if (svc.keda && svc.keda.maxReplicaCount > values.kafka.partitions)
        problems.push(
          `${where}.keda.maxReplicaCount (${svc.keda.maxReplicaCount}) > kafka.partitions (${values.kafka.partitions})`,
        );
      for (const trigger of svc.keda?.triggers ?? []) {
        if (!topics.includes(trigger.topic))
          problems.push(`${where}: trigger topic "${trigger.topic}" is not a Livepulse topic (core/topics.ts)`);
      }
    } else {
      if (!svc.autoscaling?.enabled) problems.push(`${where}: an HTTP service without an HPA`);
      if (svc.keda) problems.push(`${where}: an HTTP service has KEDA settings`);
    }
    const minReplicas =
      svc.kind === 'http' && svc.autoscaling?.enabled
        ? svc.autoscaling.minReplicas
        : svc.kind === 'consumer' && svc.keda?.enabled
          ? svc.keda.minReplicaCount
          : svc.replicas;
    if (svc.pdb?.minAvailable !== undefined && svc.pdb.minAvailable >= minReplicas) {
      problems.push(
        `${where}.pdb.minAvailable (${svc.pdb.minAvailable}) >= minimum replicas (${minReplicas}): no pod could be evicted`,
      );
    }
  }
  return problems;
}

type Container = {
  name: string;
  image: string;
  args?: string[];
  startupProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: { cpu?: string; memory?: string } };
};

type PodSpec = {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
};

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || !labels) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Invariants of one `helm template` output. */
export function checkRenderedChart(manifests: Manifest[], topics: string[]): string[] {
  const problems: string[] = [];
  const of = (kind: string) => manifests.filter((m) => m.kind === kind);
  const deployments = of('Deployment');
  const config = of('ConfigMap')[0]?.data ?? {};
  const partitions = Number(config.KAFKA_PARTITIONS);
  const prefix = config.KAFKA_TOPIC_PREFIX ?? '';
  const scaledObjects = of('ScaledObject');
  const kedaRendered = scaledObjects.length > 0;
  if (!Number.isInteger(partitions) || partitions < 1)
    problems.push('ConfigMap: KAFKA_PARTITIONS is not a positive integer');

  for (const deployment of deployments) {
    const name = deployment.metadata.name;
    const kind = deployment.metadata.labels?.['livepulse.dev/kind'];
    const spec = deployment.spec as {
      replicas?: number;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    };
    const pod = spec.template.spec;
    const container = pod.containers[0]!;
    const component = spec.selector.matchLabels['app.kubernetes.io/component'];
    // ["start", component], or ["start", …services] for a deployment that runs several (`run:` in values; checked there).
    const runs = container.args?.[0] === 'start' ? container.args.slice(1) : [];
    if (runs.length === 0 || (runs.length === 1 && runs[0] !== component))
      problems.push(`${name}: args should be ["start", "${component}"]`);
    if (!isPinnedImage(container.image)) problems.push(`${name}: image ${container.image} is not pinned`);
    if (container.startupProbe?.httpGet?.path !== '/healthz') problems.push(`${name}: no startupProbe on /healthz`);
    if (container.livenessProbe?.httpGet?.path !== '/healthz') problems.push(`${name}: no livenessProbe on /healthz`);
    if (container.readinessProbe?.httpGet?.path !== '/readyz') problems.push(`${name}: no readinessProbe on /readyz`);
    const preStop = container.lifecycle?.preStop;
    const preStopSeconds =
      preStop?.sleep?.seconds ?? Number(preStop?.exec?.command?.[0] === 'sleep' ? preStop.exec.command[1] : NaN);
    if (!Number.isFinite(preStopSeconds)) problems.push(`${name}: no preStop sleep`);
    else if ((pod.terminationGracePeriodSeconds ?? 30) < preStopSeconds + MIN_DRAIN_SECONDS)
      problems.push(`${name}: terminationGracePeriodSeconds leaves under ${MIN_DRAIN_SECONDS}s to drain`);
    if (!container.resources?.requests?.cpu || !container.resources.requests.memory)
      problems.push(`${name}: no cpu and memory requests`);
    if (!pod.securityContext?.runAsNonRoot) problems.push(`${name}: pod does not require runAsNonRoot`);

    const targeting = (kindName: string) =>
      of(kindName).filter(
        (m) => ((m.spec as { scaleTargetRef?: { name?: string } } | undefined)?.scaleTargetRef?.name ?? '') === name,
      );
    const hpas = targeting('HorizontalPodAutoscaler');
    const scalers = targeting('ScaledObject');
    if (kind === 'consumer') {
      if (hpas.length > 0) problems.push(`${name}: a consumer with its own HPA`);
      if (kedaRendered && scalers.length !== 1)
        problems.push(`${name}: a consumer needs exactly one ScaledObject, has ${scalers.length}`);
    } else if (kind === 'http') {
      if (scalers.length > 0) problems.push(`${name}: an HTTP service scaled by KEDA`);
    } else problems.push(`${name}: label livepulse.dev/kind is ${String(kind)}`);
    const autoscaled = hpas.length + scalers.length > 0;
    if (autoscaled && spec.replicas !== undefined)
      problems.push(`${name}: sets replicas although an autoscaler owns them`);
    if (!autoscaled && !spec.replicas) problems.push(`${name}: no replicas and no autoscaler`);

    const minReplicas = hpas[0]
      ? Number((hpas[0].spec as { minReplicas?: number }).minReplicas ?? 1)
      : scalers[0]
        ? Number((scalers[0].spec as { minReplicaCount?: number }).minReplicaCount ?? 0)
        : Number(spec.replicas ?? 1);
    const pdbs = of('PodDisruptionBudget').filter((p) =>
      selects(
        (p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels,
        spec.template.metadata.labels,
      ),
    );
    if (pdbs.length !== 1) problems.push(`${name}: ${pdbs.length} PodDisruptionBudgets select it (want 1)`);
    for (const pdb of pdbs) {
      const minAvailable = (pdb.spec as { minAvailable?: number }).minAvailable;
      if (typeof minAvailable === 'number' && minAvailable >= minReplicas)
        problems.push(`${pdb.metadata.name}: minAvailable ${minAvailable} >= ${minReplicas} replicas`);
    }
    if (
      !of('Service').some((s) =>
        selects((s.spec as { selector?: Record<string, string> }).selector, spec.template.metadata.labels),
      )
    )
      problems.push(`${name}: no Service selects it`);
  }

  for (const so of scaledObjects) {
    const spec = so.spec as {
      maxReplicaCount: number;
      triggers: Array<{ type: string; metadata: Record<string, string> }>;
    };
    if (spec.maxReplicaCount > partitions)
      problems.push(`${so.metadata.name}: maxReplicaCount ${spec.maxReplicaCount} > KAFKA_PARTITIONS ${partitions}`);
    const kafka = spec.triggers.filter((t) => t.type === 'kafka');
    if (kafka.length === 0) problems.push(`${so.metadata.name}: no kafka trigger`);
    for (const trigger of kafka) {
      const topic = trigger.metadata.topic ?? '';
      if (!topic.startsWith(prefix) || !topics.includes(topic.slice(prefix.length)))
        problems.push(`${so.metadata.name}: topic "${topic}" is not "${prefix}" + a Livepulse topic`);
      if (trigger.metadata.bootstrapServers !== config.KAFKA_BROKERS)
        problems.push(`${so.metadata.name}: bootstrapServers differ from the services' KAFKA_BROKERS`);
    }
  }

  for (const ingress of of('Ingress')) {
    const rules = (
      ingress.spec as {
        rules: Array<{ http: { paths: Array<{ backend: { service: { name: string; port: { name?: string } } } }> } }>;
      }
    ).rules;
    for (const path of rules.flatMap((r) => r.http.paths)) {
      const service = of('Service').find((s) => s.metadata.name === path.backend.service.name);
      if (!service)
        problems.push(`${ingress.metadata.name}: backend ${path.backend.service.name} is not a Service of the chart`);
    }
  }
  const chat = of('Ingress').find((i) => i.metadata.labels?.['app.kubernetes.io/component'] === 'chat-gateway');
  if (chat && !chat.metadata.annotations?.['nginx.ingress.kubernetes.io/affinity'])
    problems.push(`${chat.metadata.name}: socket.io needs sticky sessions (cookie affinity)`);
  return problems;
}

/** KEDA's kafka scaler metadata keys (keda.sh/docs scalers/apache-kafka); its CRD leaves `metadata` free-form. */
const KAFKA_TRIGGER_KEYS = new Set([
  'bootstrapServers',
  'consumerGroup',
  'topic',
  'lagThreshold',
  'activationLagThreshold',
  'offsetResetPolicy',
  'allowIdleConsumers',
  'scaleToZeroOnInvalidOffset',
  'excludePersistentLag',
  'limitToPartitionsWithLag',
  'ensureEvenDistributionOfPartitions',
  'version',
  'partitionLimitation',
  'sasl',
  'tls',
  'unsafeSsl',
]);
const SCALED_OBJECT_SPEC_KEYS = new Set([
  'scaleTargetRef',
  'pollingInterval',
  'cooldownPeriod',
  'initialCooldownPeriod',
  'idleReplicaCount',
  'minReplicaCount',
  'maxReplicaCount',
  'fallback',
  'advanced',
  'triggers',
]);
const TRIGGER_KEYS = new Set(['type', 'name', 'metadata', 'authenticationRef', 'metricType', 'useCachedMetrics']);

type Validating = new (data: unknown) => { validate(): void };

/**
 * Validates the custom resources with the schemas of @kubernetes-models/keda and
 * @kubernetes-models/prometheus-operator (generated from the projects' CRDs). Those schemas
 * allow unknown fields, so the ScaledObject's known fields are also checked here.
 */
export async function checkCustomResources(
  manifests: Manifest[],
  npmPrefix: string,
): Promise<{ problems: string[]; checked: number }> {
  // The models are ES modules; import them by path from the validators' npm prefix.
  const load = async (path: string, name: string) =>
    ((await import(pathToFileURL(join(npmPrefix, 'node_modules', path)).href)) as Record<string, Validating>)[name]!;
  const models: Record<string, Validating> = {
    'keda.sh/v1alpha1/ScaledObject': await load(
      '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject.js',
      'ScaledObject',
    ),
    'keda.sh/v1alpha1/TriggerAuthentication': await load(
      '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication.js',
      'TriggerAuthentication',
    ),
    'monitoring.coreos.com/v1/ServiceMonitor': await load(
      '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor.js',
      'ServiceMonitor',
    ),
  };
  const problems: string[] = [];
  let checked = 0;
  for (const manifest of manifests) {
    // Built-in kinds (v1, apps/v1, policy/v1, autoscaling/v2, networking.k8s.io/v1) are kubernetes-validate's.
    if (!manifest.apiVersion.includes('.') || /\.k8s\.io\//.test(manifest.apiVersion)) continue;
    const Model = models[`${manifest.apiVersion}/${manifest.kind}`];
    const where = `${manifest.kind}/${manifest.metadata.name}`;
    if (!Model) {
      problems.push(`${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
      continue;
    }
    checked++;
    try {
      new Model(manifest).validate();
    } catch (error) {
      problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (manifest.kind === 'ScaledObject') {
      const spec = manifest.spec as { triggers?: Array<Record<string, unknown>> };
      for (const key of Object.keys(spec))
        if (!SCALED_OBJECT_SPEC_KEYS.has(key)) problems.push(`${where}: unknown spec field ${key}`);
      for (const trigger of spec.triggers ?? []) {
        for (const key of Object.keys(trigger))
          if (!TRIGGER_KEYS.has(key)) problems.push(`${where}: unknown trigger field ${key}`);
        if (trigger.type !== 'kafka') continue;
        const metadata = trigger.metadata as Record<string, unknown>;
        for (const [key, value] of Object.entries(metadata)) {
          if (!KAFKA_TRIGGER_KEYS.has(key)) problems.push(`${where}: unknown kafka trigger metadata ${key}`);
          if (typeof value !== 'string') problems.push(`${where}: kafka trigger metadata ${key} must be a string`);
        }
        const offsetResetPolicy = metadata.offsetResetPolicy ?? 'latest';
        if (typeof offsetResetPolicy !== 'string' || !['earliest', 'latest'].includes(offsetResetPolicy))
          problems.push(`${where}: offsetResetPolicy must be earliest or latest`);
      }
    }
  }
  return { problems, checked };
}
