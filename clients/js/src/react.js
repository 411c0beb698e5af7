// React hooks over ChatClient, in plain JS (no JSX): react is a peer dependency.
//
//   const client = useMemo(() => createClient({ accessToken, refreshToken }), []);
//   const { state } = useConnection(client);
//   const { messages, send, typists, loadOlder } = useChat(client, roomId);
//   const { notifications, unreadCount, markRead, markAllRead } = useNotifications(client);
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";

// Re-render on the client's events (those `filter` accepts); `key` renews the subscription
// when what the filter looks at changes (a room id).
function useVersion(client, events, filter, key) {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!client) return undefined;
    const bump = (...args) => { if (!filter || filter(...args)) setVersion((v) => v + 1); };
    const offs = events.map((event) => client.on(event, bump));
    return () => offs.forEach((off) => off());
  }, [client, key, ...events]); // eslint-disable-line react-hooks/exhaustive-deps
  return version;
}

/** The connection state (connecting, connected, reconnecting, disconnected); connects on mount. */
export function useConnection(client, { autoConnect = true } = {}) {
  const subscribe = useCallback((notify) => client.on("state", notify), [client]);
  const state = useSyncExternalStore(subscribe, () => client.state, () => client.state);
  useEffect(() => {
    if (autoConnect && client.accessToken) client.connect();
  }, [client, autoConnect]);
  return {
    state,
    connected: state === "connected",
    reconnecting: state === "reconnecting",
    connect: () => client.connect(),
    disconnect: () => client.disconnect(),
  };
}

/** Alias with the name the original design used. */
export const useWebSocket = useConnection;

/** One room: joined while mounted, messages in order with pending sends, typing, reads. */
export function useChat(client, roomId) {
  useVersion(client, ["room"], (room) => room?.id === roomId, roomId);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!client || roomId == null) return undefined;
    client.joinRoom(roomId).catch(setError);
    return () => { client.leaveRoom(roomId).catch(() => {}); };
  }, [client, roomId]);
  const room = roomId == null ? null : client.room(roomId);
  return {
    room,
    messages: room ? room.timeline : [],
    hasOlder: room ? room.hasOlder : false,
    unreadCount: room ? room.unreadCount : 0,
    typists: room ? [...room.typing.values()] : [],
    othersReadUpTo: room ? room.othersReadUpTo : 0,
    error,
    send: (content, options) => client.send(roomId, content, options),
    retry: (clientMsgId) => client.retry(roomId, clientMsgId),
    typing: (isTyping = true) => client.typing(roomId, isTyping),
    markRead: (upToSeq) => client.markRead(roomId, upToSeq),
    loadOlder: () => client.loadOlder(roomId),
  };
}

/** The caller's conversations, newest activity first, with unread counts and status. */
export function useRooms(client) {
  useVersion(client, ["rooms", "room"]);
  useEffect(() => { client.loadRooms().catch(() => {}); }, [client]);
  return client.listRooms();
}

/** Notifications with their unread count; `onNew` sees each live one (for a toast). */
export function useNotifications(client, { onNew } = {}) {
  useVersion(client, ["notifications"]);
  useEffect(() => { client.loadNotifications().catch(() => {}); }, [client]);
  useEffect(() => (onNew ? client.on("notification", onNew) : undefined), [client, onNew]);
  return {
    notifications: client.notifications,
    unreadCount: client.unreadNotifications,
    markRead: (id) => client.markNotificationRead(id),
    markAllRead: () => client.markAllNotificationsRead(),
  };
}

/** Alias with the name the original design used, for a customer's single conversation. */
export function useCustomerChat(client, businessId) {
  const [roomId, setRoomId] = useState(null);
  useEffect(() => {
    client.openCustomerRoom(businessId).then((room) => setRoomId(room.id)).catch(() => {});
  }, [client, businessId]);
  return useChat(client, roomId);
}

export const useBusinessNotifications = useNotifications;
