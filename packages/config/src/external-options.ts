/**
 * `provider_options` of a pool whose `provider` is `external`: its workers are created and
 * deleted by a provisioner of the team's own (VMs on Proxmox, Hetzner, vSphere, a cloud API,
 * Terraform...) that speaks the provisioner contract of docs/providers.md (HTTP + JSON,
 * docs/provisioner-openapi.yaml). Validated with the rest of the configuration at start, errors
 * naming their key, e.g. `autoscaler.pools[0].provider_options.url`; the files are read when
 * node-manager starts (a missing one fails the start naming its key) and again at each call, so
 * a rotated token or CA bundle is picked up without a restart.
 */
import { z } from 'zod';

export const externalOptionsSchema = z
  .strictObject({
    /**
     * The provisioner's base URL; the contract's paths are appended to it, e.g.
     * `https://provisioner.infra:8443/v1` -> `https://provisioner.infra:8443/v1/pools/<pool>/workers`.
     */
    url: z
      .url({ protocol: /^https?$/, error: 'an http(s) URL such as https://provisioner:8443' })
      .refine((u) => !/[?#]/.test(u), 'the base URL, without a query or fragment'),
    /** A file holding the bearer token sent as `Authorization: Bearer <token>` (a mounted Secret). */
    token_file: z.string().min(1, 'a file path').optional(),
    /** A PEM file of the CA(s) that signed the provisioner's certificate (https only). @default the system's */
    ca_file: z.string().min(1, 'a file path').optional(),
    /** One call may take this long before it counts as failed (`PROVISIONER_TIMEOUT`, retried). */
    timeout_seconds: z.number().min(0.1, 'seconds >= 0.1').max(300, 'seconds <= 300').default(10),
    /** The instance type (machine size) of the pool's workers, passed to the provisioner in the template. */
    instance_type: z.string().min(1, 'an instance type').max(253).optional(),
    /** More settings of the pool for the provisioner (image, network, ...), passed as they are. */
    parameters: z.record(z.string().min(1), z.string()).default({}),
  })
  .superRefine((o, ctx) => {
    if (o.ca_file !== undefined && !o.url.startsWith('https:'))
      ctx.addIssue({ code: 'custom', path: ['ca_file'], message: 'a CA file needs an https url' });
  });

export type ExternalOptions = z.output<typeof externalOptionsSchema>;
export type ExternalOptionsInput = z.input<typeof externalOptionsSchema>;
