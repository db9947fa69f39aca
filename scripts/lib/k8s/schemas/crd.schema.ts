/**
 * The subset of the operators' custom resources our manifests may use, written from their API
 * references: KEDA 2.x (keda.sh/v1alpha1), RabbitMQ Cluster Operator 2.x (rabbitmq.com/v1beta1),
 * CloudNativePG 1.2x (postgresql.cnpg.io/v1), Prometheus Operator (monitoring.coreos.com/v1).
 */
import { affinity, resourceRequirements, toleration } from './core.schema';
import { bool, int, intOrString, list, obj, oneOf, quantity, resource, str, strList, strMap } from './schema-kit';

const scaleTargetRef = obj({ apiVersion: str, kind: str, name: str, envSourceContainerName: str }, ['name']);

export const scaledObject = resource('keda.sh/v1alpha1', 'ScaledObject', {
  spec: obj(
    {
      scaleTargetRef,
      pollingInterval: int,
      cooldownPeriod: int,
      initialCooldownPeriod: int,
      idleReplicaCount: int,
      minReplicaCount: int,
      maxReplicaCount: int,
      fallback: obj({ failureThreshold: int, replicas: int }, ['failureThreshold', 'replicas']),
      advanced: obj({
        restoreToOriginalReplicaCount: bool,
        horizontalPodAutoscalerConfig: obj({
          name: str,
          behavior: obj({
            scaleUp: obj({ stabilizationWindowSeconds: int, selectPolicy: oneOf('Max', 'Min', 'Disabled'), policies: list(obj({ type: oneOf('Pods', 'Percent'), value: int, periodSeconds: int }, ['type', 'value', 'periodSeconds'])) }),
            scaleDown: obj({ stabilizationWindowSeconds: int, selectPolicy: oneOf('Max', 'Min', 'Disabled'), policies: list(obj({ type: oneOf('Pods', 'Percent'), value: int, periodSeconds: int }, ['type', 'value', 'periodSeconds'])) }),
          }),
        }),
      }),
      triggers: {
        ...list(
          obj(
            {
              type: str,
              name: str,
              // KEDA reads trigger metadata as map[string]string: numbers must be quoted.
              metadata: strMap,
              authenticationRef: obj({ name: str, kind: oneOf('TriggerAuthentication', 'ClusterTriggerAuthentication') }, ['name']),
              metricType: oneOf('AverageValue', 'Value', 'Utilization'),
              useCachedMetrics: bool,
            },
            ['type', 'metadata'],
          ),
        ),
        minItems: 1,
      },
    },
    ['scaleTargetRef', 'triggers'],
  ),
}, ['spec']);

export const triggerAuthentication = resource('keda.sh/v1alpha1', 'TriggerAuthentication', {
  spec: obj({
    secretTargetRef: list(obj({ parameter: str, name: str, key: str }, ['parameter', 'name', 'key'])),
    env: list(obj({ parameter: str, name: str, containerName: str }, ['parameter', 'name'])),
  }),
}, ['spec']);

export const rabbitmqCluster = resource('rabbitmq.com/v1beta1', 'RabbitmqCluster', {
  spec: obj({
    replicas: int,
    image: str,
    imagePullSecrets: list(obj({ name: str })),
    service: obj({ type: oneOf('ClusterIP', 'LoadBalancer', 'NodePort'), annotations: strMap, ipFamilyPolicy: str }),
    persistence: obj({ storageClassName: str, storage: quantity }),
    resources: resourceRequirements,
    affinity,
    tolerations: list(toleration),
    rabbitmq: obj({ additionalPlugins: strList, additionalConfig: str, advancedConfig: str, envConfig: str, erlangInetConfig: str }),
    tls: obj({ secretName: str, caSecretName: str, disableNonTLSListeners: bool }),
    terminationGracePeriodSeconds: int,
    skipPostDeploySteps: bool,
    delayStartSeconds: int,
    autoEnableAllFeatureFlags: bool,
  }),
}, ['spec']);

const storageConfiguration = obj({ size: quantity, storageClass: str, resizeInUseVolumes: bool });

export const cnpgCluster = resource('postgresql.cnpg.io/v1', 'Cluster', {
  spec: obj(
    {
      description: str,
      instances: { type: 'integer', minimum: 1 },
      imageName: str,
      primaryUpdateStrategy: oneOf('unsupervised', 'supervised'),
      primaryUpdateMethod: oneOf('switchover', 'restart'),
      minSyncReplicas: int,
      maxSyncReplicas: int,
      startDelay: int,
      stopDelay: int,
      smartShutdownTimeout: int,
      switchoverDelay: int,
      failoverDelay: int,
      enableSuperuserAccess: bool,
      storage: storageConfiguration,
      walStorage: storageConfiguration,
      bootstrap: obj({
        initdb: obj({ database: str, owner: str, secret: obj({ name: str }, ['name']), encoding: str, localeCollate: str, localeCType: str, dataChecksums: bool, postInitSQL: strList }),
      }),
      postgresql: obj({ parameters: strMap, pg_hba: strList, shared_preload_libraries: strList }),
      resources: resourceRequirements,
      affinity: obj({ enablePodAntiAffinity: bool, topologyKey: str, podAntiAffinityType: oneOf('preferred', 'required'), nodeSelector: strMap, tolerations: list(toleration) }),
    },
    ['instances'],
  ),
}, ['spec']);

export const prometheusRule = resource('monitoring.coreos.com/v1', 'PrometheusRule', {
  spec: obj({
    groups: list(
      obj(
        {
          name: str,
          interval: str,
          limit: int,
          partial_response_strategy: str,
          rules: list({
            ...obj({ alert: str, record: str, expr: intOrString, for: str, keep_firing_for: str, labels: strMap, annotations: strMap }, ['expr']),
            oneOf: [{ required: ['alert'] }, { required: ['record'] }],
          }),
        },
        ['name', 'rules'],
      ),
    ),
  }),
}, ['spec']);

export const podMonitor = resource('monitoring.coreos.com/v1', 'PodMonitor', {
  spec: obj(
    {
      jobLabel: str,
      podTargetLabels: strList,
      selector: obj({ matchLabels: strMap, matchExpressions: list(obj({ key: str, operator: str, values: strList }, ['key', 'operator'])) }),
      namespaceSelector: obj({ any: bool, matchNames: strList }),
      podMetricsEndpoints: list(obj({ port: str, path: str, scheme: oneOf('http', 'https'), interval: str, scrapeTimeout: str, honorLabels: bool })),
    },
    ['selector'],
  ),
}, ['spec']);
