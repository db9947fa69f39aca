/**
 * The subset of the Kubernetes API (v1.30) our manifests may use, field names and types as in the
 * upstream API reference. A field not listed here is rejected: add it (faithfully) when needed.
 */
import { bool, int, intOrString, list, obj, oneOf, quantity, resource, str, strList, strMap } from './schema-kit';

const labelSelector = obj({
  matchLabels: strMap,
  matchExpressions: list(obj({ key: str, operator: oneOf('In', 'NotIn', 'Exists', 'DoesNotExist'), values: strList }, ['key', 'operator'])),
});

const seccompProfile = obj({ type: oneOf('RuntimeDefault', 'Localhost', 'Unconfined'), localhostProfile: str }, ['type']);

const containerSecurityContext = obj({
  allowPrivilegeEscalation: bool,
  privileged: bool,
  readOnlyRootFilesystem: bool,
  runAsNonRoot: bool,
  runAsUser: int,
  runAsGroup: int,
  capabilities: obj({ add: strList, drop: strList }),
  seccompProfile,
  procMount: oneOf('Default', 'Unmasked'),
});

const podSecurityContext = obj({
  runAsNonRoot: bool,
  runAsUser: int,
  runAsGroup: int,
  fsGroup: int,
  fsGroupChangePolicy: oneOf('OnRootMismatch', 'Always'),
  supplementalGroups: list(int),
  seccompProfile,
});

const keyRef = obj({ name: str, key: str, optional: bool }, ['key']);

const envVar = obj(
  {
    name: str,
    value: str,
    valueFrom: obj({
      secretKeyRef: keyRef,
      configMapKeyRef: keyRef,
      fieldRef: obj({ apiVersion: str, fieldPath: str }, ['fieldPath']),
      resourceFieldRef: obj({ containerName: str, resource: str, divisor: quantity }, ['resource']),
    }),
  },
  ['name'],
);

const envFromSource = obj({
  prefix: str,
  configMapRef: obj({ name: str, optional: bool }),
  secretRef: obj({ name: str, optional: bool }),
});

const httpGet = obj(
  {
    path: str,
    port: intOrString,
    host: str,
    scheme: oneOf('HTTP', 'HTTPS'),
    httpHeaders: list(obj({ name: str, value: str }, ['name', 'value'])),
  },
  ['port'],
);
const execAction = obj({ command: strList });
const tcpSocket = obj({ port: intOrString, host: str }, ['port']);

const probe = obj({
  exec: execAction,
  httpGet,
  tcpSocket,
  grpc: obj({ port: int, service: str }, ['port']),
  initialDelaySeconds: int,
  periodSeconds: int,
  timeoutSeconds: int,
  successThreshold: int,
  failureThreshold: int,
  terminationGracePeriodSeconds: int,
});

const lifecycleHandler = obj({ exec: execAction, httpGet, tcpSocket, sleep: obj({ seconds: int }, ['seconds']) });

export const resourceRequirements = obj({ requests: { type: 'object', additionalProperties: quantity }, limits: { type: 'object', additionalProperties: quantity } });

const container = obj(
  {
    name: str,
    image: str,
    imagePullPolicy: oneOf('Always', 'IfNotPresent', 'Never'),
    command: strList,
    args: strList,
    workingDir: str,
    ports: list(obj({ name: { type: 'string', maxLength: 15 }, containerPort: int, protocol: oneOf('TCP', 'UDP', 'SCTP'), hostPort: int, hostIP: str }, ['containerPort'])),
    env: list(envVar),
    envFrom: list(envFromSource),
    resources: resourceRequirements,
    startupProbe: probe,
    livenessProbe: probe,
    readinessProbe: probe,
    lifecycle: obj({ preStop: lifecycleHandler, postStart: lifecycleHandler }),
    securityContext: containerSecurityContext,
    volumeMounts: list(obj({ name: str, mountPath: str, readOnly: bool, subPath: str, subPathExpr: str, mountPropagation: str }, ['name', 'mountPath'])),
    terminationMessagePath: str,
    terminationMessagePolicy: oneOf('File', 'FallbackToLogsOnError'),
    stdin: bool,
    tty: bool,
  },
  ['name'],
);

const keyToPath = list(obj({ key: str, path: str, mode: int }, ['key', 'path']));

const volume = obj(
  {
    name: str,
    emptyDir: obj({ medium: str, sizeLimit: quantity }),
    configMap: obj({ name: str, items: keyToPath, defaultMode: int, optional: bool }),
    secret: obj({ secretName: str, items: keyToPath, defaultMode: int, optional: bool }),
    persistentVolumeClaim: obj({ claimName: str, readOnly: bool }, ['claimName']),
  },
  ['name'],
);

export const toleration = obj({ key: str, operator: oneOf('Exists', 'Equal'), value: str, effect: oneOf('NoSchedule', 'PreferNoSchedule', 'NoExecute'), tolerationSeconds: int });

const podAffinityTerm = obj({ labelSelector, namespaceSelector: labelSelector, namespaces: strList, topologyKey: str }, ['topologyKey']);
const podAffinityRules = obj({
  requiredDuringSchedulingIgnoredDuringExecution: list(podAffinityTerm),
  preferredDuringSchedulingIgnoredDuringExecution: list(obj({ weight: int, podAffinityTerm }, ['weight', 'podAffinityTerm'])),
});
export const affinity = obj({ podAffinity: podAffinityRules, podAntiAffinity: podAffinityRules });

const podSpec = obj(
  {
    containers: { ...list(container), minItems: 1 },
    initContainers: list(container),
    volumes: list(volume),
    restartPolicy: oneOf('Always', 'OnFailure', 'Never'),
    terminationGracePeriodSeconds: int,
    activeDeadlineSeconds: int,
    serviceAccountName: str,
    automountServiceAccountToken: bool,
    enableServiceLinks: bool,
    securityContext: podSecurityContext,
    imagePullSecrets: list(obj({ name: str })),
    nodeSelector: strMap,
    tolerations: list(toleration),
    affinity,
    priorityClassName: str,
    topologySpreadConstraints: list(
      obj(
        {
          maxSkew: int,
          topologyKey: str,
          whenUnsatisfiable: oneOf('DoNotSchedule', 'ScheduleAnyway'),
          labelSelector,
          minDomains: int,
          matchLabelKeys: strList,
          nodeAffinityPolicy: oneOf('Honor', 'Ignore'),
          nodeTaintsPolicy: oneOf('Honor', 'Ignore'),
        },
        ['maxSkew', 'topologyKey', 'whenUnsatisfiable'],
      ),
    ),
  },
  ['containers'],
);

const podTemplate = obj({ metadata: obj({ labels: strMap, annotations: strMap }), spec: podSpec }, ['spec']);

export const deployment = resource('apps/v1', 'Deployment', {
  spec: obj(
    {
      replicas: int,
      revisionHistoryLimit: int,
      minReadySeconds: int,
      progressDeadlineSeconds: int,
      paused: bool,
      selector: labelSelector,
      strategy: obj({ type: oneOf('RollingUpdate', 'Recreate'), rollingUpdate: obj({ maxSurge: intOrString, maxUnavailable: intOrString }) }),
      template: podTemplate,
    },
    ['selector', 'template'],
  ),
}, ['spec']);

export const job = resource('batch/v1', 'Job', {
  spec: obj(
    {
      backoffLimit: int,
      activeDeadlineSeconds: int,
      ttlSecondsAfterFinished: int,
      completions: int,
      parallelism: int,
      completionMode: oneOf('NonIndexed', 'Indexed'),
      suspend: bool,
      template: podTemplate,
    },
    ['template'],
  ),
}, ['spec']);

export const service = resource('v1', 'Service', {
  spec: obj({
    type: oneOf('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
    selector: strMap,
    ports: list(obj({ name: str, port: int, targetPort: intOrString, protocol: oneOf('TCP', 'UDP', 'SCTP'), nodePort: int, appProtocol: str }, ['port'])),
    clusterIP: str,
    sessionAffinity: oneOf('None', 'ClientIP'),
    externalTrafficPolicy: oneOf('Cluster', 'Local'),
    internalTrafficPolicy: oneOf('Cluster', 'Local'),
    publishNotReadyAddresses: bool,
    loadBalancerSourceRanges: strList,
  }),
});

export const configMap = resource('v1', 'ConfigMap', { data: strMap, binaryData: strMap, immutable: bool });

/** Accepted by the schema so that the policy check can say why a Secret does not belong here. */
export const secret = resource('v1', 'Secret', { type: str, data: strMap, stringData: strMap, immutable: bool });

export const podDisruptionBudget = resource('policy/v1', 'PodDisruptionBudget', {
  spec: obj({ minAvailable: intOrString, maxUnavailable: intOrString, selector: labelSelector, unhealthyPodEvictionPolicy: oneOf('IfHealthyBudget', 'AlwaysAllow') }),
}, ['spec']);

const networkPolicyPeer = obj({ podSelector: labelSelector, namespaceSelector: labelSelector, ipBlock: obj({ cidr: str, except: strList }, ['cidr']) });
const networkPolicyPort = obj({ protocol: oneOf('TCP', 'UDP', 'SCTP'), port: intOrString, endPort: int });

export const networkPolicy = resource('networking.k8s.io/v1', 'NetworkPolicy', {
  spec: obj(
    {
      podSelector: labelSelector,
      policyTypes: list(oneOf('Ingress', 'Egress')),
      ingress: list(obj({ from: list(networkPolicyPeer), ports: list(networkPolicyPort) })),
      egress: list(obj({ to: list(networkPolicyPeer), ports: list(networkPolicyPort) })),
    },
    ['podSelector'],
  ),
}, ['spec']);

const metricTarget = obj({ type: oneOf('Utilization', 'Value', 'AverageValue'), averageUtilization: int, averageValue: quantity, value: quantity }, ['type']);
const scalingRules = obj({
  stabilizationWindowSeconds: int,
  selectPolicy: oneOf('Max', 'Min', 'Disabled'),
  policies: list(obj({ type: oneOf('Pods', 'Percent'), value: int, periodSeconds: int }, ['type', 'value', 'periodSeconds'])),
});

export const horizontalPodAutoscaler = resource('autoscaling/v2', 'HorizontalPodAutoscaler', {
  spec: obj(
    {
      scaleTargetRef: obj({ apiVersion: str, kind: str, name: str }, ['kind', 'name']),
      minReplicas: int,
      maxReplicas: int,
      metrics: list(
        obj(
          {
            type: oneOf('Resource', 'ContainerResource'),
            resource: obj({ name: str, target: metricTarget }, ['name', 'target']),
            containerResource: obj({ name: str, container: str, target: metricTarget }, ['name', 'container', 'target']),
          },
          ['type'],
        ),
      ),
      behavior: obj({ scaleUp: scalingRules, scaleDown: scalingRules }),
    },
    ['scaleTargetRef', 'maxReplicas'],
  ),
}, ['spec']);
