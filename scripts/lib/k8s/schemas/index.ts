/** Every kind the manifests may contain, keyed by `apiVersion/kind`; any other kind is an error. */
import { configMap, deployment, horizontalPodAutoscaler, job, networkPolicy, podDisruptionBudget, secret, service } from './core.schema';
import { cnpgCluster, podMonitor, prometheusRule, rabbitmqCluster, scaledObject, triggerAuthentication } from './crd.schema';
import type { JsonSchema } from './schema-kit';

export const SCHEMAS: Record<string, JsonSchema> = {
  'apps/v1/Deployment': deployment,
  'batch/v1/Job': job,
  'v1/Service': service,
  'v1/ConfigMap': configMap,
  'v1/Secret': secret,
  'policy/v1/PodDisruptionBudget': podDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': networkPolicy,
  'autoscaling/v2/HorizontalPodAutoscaler': horizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': scaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': triggerAuthentication,
  'rabbitmq.com/v1beta1/RabbitmqCluster': rabbitmqCluster,
  'postgresql.cnpg.io/v1/Cluster': cnpgCluster,
  'monitoring.coreos.com/v1/PrometheusRule': prometheusRule,
  'monitoring.coreos.com/v1/PodMonitor': podMonitor,
};
