import * as z from "zod";
import { idSchema, inviteTokenSchema, pageQuerySchema } from "../rooms/schemas";
import { DEFAULT_INVITE_HOURS, MAX_INVITE_HOURS, MAX_INVITE_USES } from "./invite-rules";

export const createInviteBodySchema = z
  .object({
    expiresInHours: z
      .number()
      .int()
      .min(1)
      .max(MAX_INVITE_HOURS)
      .default(DEFAULT_INVITE_HOURS)
      .meta({ description: `1..${MAX_INVITE_HOURS} whole hours, default ${DEFAULT_INVITE_HOURS}` }),
    maxUses: z
      .number()
      .int()
      .min(1)
      .max(MAX_INVITE_USES)
      .nullable()
      .default(null)
      .meta({ description: `1..${MAX_INVITE_USES}, or null (the default) for unlimited` }),
  })
  .meta({ id: "CreateInviteBody" });
export type CreateInviteBody = z.infer<typeof createInviteBodySchema>;

export const roomInviteParamsSchema = z.object({ roomId: idSchema, inviteId: idSchema });
export const tokenParamsSchema = z.object({ token: inviteTokenSchema });
export const invitesQuerySchema = pageQuerySchema(50, 100);
