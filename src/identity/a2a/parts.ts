/**
 * @module identity/a2a/parts
 * Builders for the SDK's protocol objects (messages, artifacts, parts) so every producer fills the
 * protobuf-shaped fields the same way, and the reverse: the text of a message or parts.
 */
import { randomUUID } from 'node:crypto';
import { Role, TaskState, type Artifact, type Message, type Part, type Task } from '@a2a-js/sdk';

export const textPart = (text: string): Part => ({
  content: { $case: 'text', value: text },
  mediaType: 'text/plain',
  filename: '',
  metadata: undefined,
});

export const dataPart = (data: unknown): Part => ({
  content: { $case: 'data', value: data },
  mediaType: 'application/json',
  filename: '',
  metadata: undefined,
});

/** A one-text-part message; empty ids let the server assign task and context. */
export function textMessage(args: {
  role: 'user' | 'agent';
  text: string;
  taskId?: string;
  contextId?: string;
}): Message {
  return {
    messageId: randomUUID(),
    taskId: args.taskId ?? '',
    contextId: args.contextId ?? '',
    role: args.role === 'user' ? Role.ROLE_USER : Role.ROLE_AGENT,
    parts: [textPart(args.text)],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** An artifact made of these parts. */
export const artifactOf = (name: string, parts: Part[]): Artifact => ({
  artifactId: randomUUID(),
  name,
  description: '',
  parts,
  metadata: undefined,
  extensions: [],
});

/** The text parts, joined by newlines. */
export const textOfParts = (parts: readonly Part[] | undefined): string =>
  (parts ?? []).flatMap((p) => (p.content?.$case === 'text' ? [p.content.value] : [])).join('\n');

/** The text parts of a message, joined by newlines. */
export const textOf = (message: Message | undefined): string => textOfParts(message?.parts);

/** A new task in SUBMITTED with the caller's message as its history. */
export const submittedTask = (args: {
  id: string;
  contextId: string;
  message: Message;
  timestamp: string;
}): Task => ({
  id: args.id,
  contextId: args.contextId,
  status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: args.timestamp },
  artifacts: [],
  history: [args.message],
  metadata: undefined,
});
