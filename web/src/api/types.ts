// Names for the generated API types (src/api/schema.ts, from openapi/openapi.json by `npm run gen`).
// Aliases only: never copy a type by hand.
import type { components, operations } from './schema';

type S = components['schemas'];
export type Resource = S['ResourceSummary'];
export type ResourceDetail = S['ResourceDetail'];
export type ResourceList = S['ResourceList'];
export type ResourceSort = S['ResourceSort'];
export type Health = S['Health'];
export type Cluster = S['Cluster'];
export type ClusterList = S['ClusterList'];
export type ClusterStatus = S['ClusterStatus'];
export type ClusterStats = S['ClusterStats'];
export type ClusterState = S['ClusterState'];
export type CreateCluster = S['CreateCluster'];
export type UpdateCluster = S['UpdateCluster'];
export type FleetStats = S['FleetStats'];
export type HealthCounts = S['HealthCounts'];
export type Change = S['Change'];
export type ChangeList = S['ChangeList'];
export type ResourceVersion = S['ResourceVersion'];
export type VersionList = S['VersionList'];
export type VersionDiff = S['VersionDiff'];
export type FieldDiff = S['FieldDiff'];
export type KubeEvent = S['Event'];
export type EventList = S['EventList'];
export type Condition = S['ResourceCondition'];
export type Inventory = S['Inventory'];
export type ActionAccepted = S['ActionAccepted'];
export type ErrorBody = S['ErrorBody'];
export type SubscribeMessage = S['SubscribeMessage'];
export type ChangeMessage = S['ChangeMessage'];
export type ClusterMessage = S['ClusterMessage'];
export type ResyncMessage = S['ResyncMessage'];
export type StreamError = S['StreamError'];

/** Every message the stream sends, discriminated by `type`. */
export type ServerMessage =
  | ({ type: 'change' } & ChangeMessage)
  | ({ type: 'cluster' } & ClusterMessage)
  | ({ type: 'subscribed' | 'heartbeat' } & S['PositionMessage'])
  | ({ type: 'resync' } & ResyncMessage)
  | ({ type: 'error' } & StreamError);

export type ListResourcesQuery = NonNullable<operations['listResources']['parameters']['query']>;

/** Health from worst to best: `flux::Health::SEVERITY` (the server's `health` and `severity` sorts), checked by a test in
 * `src/api/vocabulary.rs`. The one copy of this order in the UI. */
export const HEALTHS: readonly Health[] = ['failed', 'stalled', 'progressing', 'unknown', 'suspended', 'ready'];

export type Action = 'reconcile' | 'suspend' | 'resume' | 'force' | 'reset';

export type SessionInfo = S['SessionInfo'];
export type RoleName = S['RoleName'];
export type ApiToken = S['ApiToken'];
export type TokenList = S['TokenList'];
export type CreateToken = S['CreateToken'];
export type CreatedToken = S['CreatedToken'];
export type AuditRecord = S['AuditRecord'];
export type AuditList = S['AuditList'];

export type ResourceGraph = S['ResourceGraph'];
export type GraphNode = S['GraphNodeView'];
export type GraphEdge = S['GraphEdgeView'];
export type EdgeType = S['EdgeType'];
export type GraphDirection = S['GraphDirection'];
export type Impact = S['Impact'];
export type ImpactCluster = S['ImpactCluster'];
export type TimelinePage = S['TimelinePage'];
export type TimelineEntry = S['TimelineEntry'];
export type Sink = S['Sink'];
export type SinkList = S['SinkList'];
export type CreateSink = S['CreateSink'];
export type SinkType = S['SinkType'];
export type TestResult = S['TestResult'];
export type NotificationRule = S['Rule'];
export type RuleList = S['RuleList'];
export type CreateRule = S['CreateRule'];
export type ConditionName = S['ConditionName'];
export type NotificationFilter = S['NotificationFilter'];
export type Mute = S['Mute'];
export type MuteList = S['MuteList'];
export type CreateMute = S['CreateMute'];
export type Delivery = S['Delivery'];
export type DeliveryList = S['DeliveryList'];
export type RolloutPage = S['RolloutPage'];
export type RolloutSource = S['RolloutSource'];
export type RolloutRevision = S['RolloutRevision'];
export type RolloutCluster = S['RolloutCluster'];
export type RolloutCounts = S['RolloutCounts'];
export type RolloutState = S['RolloutState'];
export type ReliabilityReport = S['ReliabilityReport'];
export type ReliabilityGroup = S['ReliabilityGroup'];
export type ReliabilityObject = S['ReliabilityObject'];
export type ReliabilityWindow = S['ReliabilityWindow'];
