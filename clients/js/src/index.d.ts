// Types of the booking chat client library (src/core.js, src/index.js).

export type ConnectionState = "disconnected" | "connecting" | "connected" | "reconnecting";

export interface User { id: number; email: string; name: string; role: "customer" | "staff" | "owner"; business_id: number | null; }

export interface Attachment { id: number; filename: string; content_type: string; size: number; url: string; }

export interface Message {
  id: number; room_id: number; seq: number; sender_id: number | null;
  sender_type: "customer" | "staff" | "bot";
  kind: "text" | "welcome" | "offline" | "faq" | "escalation";
  content: string; attachments: Attachment[]; client_msg_id: string | null; created_at: string;
  faq_id?: number; confidence?: number;
}

export interface PendingMessage {
  client_msg_id: string; room_id: number; content: string; attachment_ids: number[];
  sender_id: number | undefined; status: "sending" | "queued" | "failed"; pending: true;
  created_at: string; attempts: number; error: { code: string; message: string } | null;
}

export interface Room {
  id: number; business_id: number; type: "customer" | "staff"; name: string | null;
  participants: { user_id: number; name: string; role: string }[];
  last_message: Message | null; last_seq: number; unread_count: number;
  status: "open" | "waiting_for_staff" | "closed"; waiting_since: string | null;
  last_activity_at: string; created_at: string;
}

export interface Notification {
  id: number; type: string; title: string; message: string; data: Record<string, unknown>;
  severity: string; read_at: string | null; created_at: string;
}

export interface Typist { user_id: number; name: string; until: number; }

export class ApiError extends Error { status: number; code: string; body: unknown; }

export class Emitter {
  on(event: string, handler: (...args: any[]) => void): () => void;
  off(event: string, handler: (...args: any[]) => void): void;
  emit(event: string, ...args: unknown[]): void;
}

export class RoomState {
  readonly id: number;
  info: Room | null;
  messages: Message[];
  pending: PendingMessage[];
  lastSeq: number | null;
  hasOlder: boolean;
  unreadCount: number;
  readUpTo: number;
  othersReadUpTo: number;
  readBy: Map<number, number>;
  typing: Map<number, Typist>;
  joined: boolean;
  readonly oldestSeq: number | null;
  readonly timeline: (Message | PendingMessage)[];
}

export interface ChatClientOptions {
  /** Server origin; default the page's own. */
  baseUrl?: string;
  /** socket.io-client's io (createClient supplies it). */
  io?: (url: string, options: object) => unknown;
  fetch?: typeof fetch;
  accessToken?: string; refreshToken?: string; user?: User;
  /** Refresh the access token this long before it expires (60 s). */
  refreshMarginMs?: number;
  /** How long a socket event waits for its ack (8 s). */
  ackTimeoutMs?: number;
  /** Reconnect delays: min * 2^attempt, capped at max, +/- jitter/2 (500 ms, 15 s, 0.5). */
  backoff?: { min?: number; max?: number; jitter?: number };
  /** At most one "typing" event per this many ms (2 s); "stopped" after typingIdleMs (3 s). */
  typingThrottleMs?: number; typingIdleMs?: number;
  socketOptions?: object;
  now?: () => number; setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (id: unknown) => void; random?: () => number;
}

export class ChatClient extends Emitter {
  constructor(options?: ChatClientOptions);
  state: ConnectionState;
  user: User | null;
  accessToken: string | null;
  refreshToken: string | null;
  rooms: Map<number, RoomState>;
  notifications: Notification[];
  unreadNotifications: number;
  presence: Map<number, { user_id: number; online: boolean; last_seen_at: string | null }>;

  setSession(session: { access_token?: string; refresh_token?: string; user?: User }): void;
  session(): { accessToken: string | null; refreshToken: string | null; user: User | null };
  login(email: string, password: string): Promise<User>;
  register(email: string, password: string, name: string): Promise<User>;
  me(): Promise<User>;
  logout(): Promise<void>;
  api<T = any>(method: string, path: string, body?: unknown, options?: { auth?: boolean }): Promise<T>;
  refresh(): Promise<boolean>;

  connect(): void;
  disconnect(): void;
  request(event: string, payload: object, timeoutMs?: number): Promise<any>;

  room(roomId: number): RoomState;
  loadRooms(): Promise<RoomState[]>;
  listRooms(): RoomState[];
  openCustomerRoom(businessId: number): Promise<RoomState>;
  createStaffRoom(participantIds: number[], name?: string): Promise<RoomState>;
  joinRoom(roomId: number): Promise<RoomState>;
  leaveRoom(roomId: number): Promise<void>;
  loadOlder(roomId: number, limit?: number): Promise<RoomState>;

  send(roomId: number, content: string, options?: { attachmentIds?: number[]; clientMsgId?: string }): Promise<Message>;
  retry(roomId: number, clientMsgId: string): Promise<Message> | null;
  discard(roomId: number, clientMsgId: string): void;
  pickSuggestion(roomId: number, messageId: number, faqId: number): Promise<Message>;
  answerFeedback(roomId: number, messageId: number, helpful: boolean): Promise<{ ok: true; feedback?: unknown; escalated?: boolean }>;
  typing(roomId: number, isTyping?: boolean): void;
  typists(roomId: number): Typist[];
  markRead(roomId: number, upToSeq?: number): Promise<number>;

  loadNotifications(options?: { unread?: boolean; limit?: number }): Promise<{ notifications: Notification[]; unread_count: number }>;
  markNotificationRead(id: number): Promise<void>;
  markAllNotificationsRead(): Promise<void>;

  upload(file: Blob & { name: string }, onProgress?: (fraction: number) => void): Promise<Attachment>;
  attachmentUrl(attachment: Attachment): Promise<string>;
}

export function createClient(options?: ChatClientOptions): ChatClient;
export function tokenExpiry(token: string): number | null;
export function tokenIssuedAt(token: string): number | null;
export function backoffDelay(attempt: number, options?: { min?: number; max?: number; jitter?: number }, random?: () => number): number;
export function newClientMsgId(): string;
