import { createApp } from "./app";

export { ChatRoom } from "./chat/chat-room";
export { RateLimiter } from "./limits/rate-limiter";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
