import { RecordingEntity } from './recording.entity';

// A recording as the admin API shows it (contract section 6).
export function recordingView(r: RecordingEntity) {
  return {
    id: r.id,
    chatId: r.chatId,
    kind: r.kind,
    profile: r.profileName,
    recordingName: r.profileName,
    label: r.label,
    agentId: r.agentId,
    status: r.status,
    outcome: r.outcomeReason ? { produced: !['suppressed'].includes(r.status), reason: r.outcomeReason, explanation: r.outcomeDetail } : null,
    sampling: r.kind === 'agent' ? { sampledIn: r.sampledIn, reason: r.samplingReason } : null,
    startedAt: r.startedAt.toISOString(),
    stoppedAt: r.stoppedAt?.toISOString() ?? null,
    fileName: r.fileName,
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
    attempts: r.attempts,
    lastError: r.lastError,
  };
}

export type RecordingView = ReturnType<typeof recordingView>;
