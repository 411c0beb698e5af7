import type { ChatClient, ConnectionState, Message, Notification, PendingMessage, RoomState, Typist } from "./index";

export function useConnection(client: ChatClient, options?: { autoConnect?: boolean }): {
  state: ConnectionState; connected: boolean; reconnecting: boolean; connect(): void; disconnect(): void;
};
export const useWebSocket: typeof useConnection;

export interface ChatHook {
  room: RoomState | null; messages: (Message | PendingMessage)[]; hasOlder: boolean; unreadCount: number;
  typists: Typist[]; othersReadUpTo: number; error: unknown;
  send(content: string, options?: { attachmentIds?: number[] }): Promise<Message>;
  retry(clientMsgId: string): Promise<Message> | null;
  typing(isTyping?: boolean): void;
  markRead(upToSeq?: number): Promise<number>;
  loadOlder(): Promise<RoomState>;
}
export function useChat(client: ChatClient, roomId: number | null): ChatHook;
export function useCustomerChat(client: ChatClient, businessId: number): ChatHook;
export function useRooms(client: ChatClient): RoomState[];
export function useNotifications(client: ChatClient, options?: { onNew?: (n: Notification) => void }): {
  notifications: Notification[]; unreadCount: number; markRead(id: number): Promise<void>; markAllRead(): Promise<void>;
};
export const useBusinessNotifications: typeof useNotifications;
