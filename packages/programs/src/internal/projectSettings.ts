/**
 * What `new` gives a container whatever its repo storage: the image (given,
 * else the override's, else the registry default) and the profiles (the
 * registry's defaults, then the override's, then the given ones, each once).
 */
import type { ImageRef, ProfileName } from "@repoman/core/Ids"
import type { ProjectOverride, RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Option from "effect/Option"

export const imageAndProfiles = (
  document: RegistryDocument,
  override: Option.Option<ProjectOverride>,
  input: { readonly image?: ImageRef | undefined; readonly profiles?: ReadonlyArray<ProfileName> | undefined }
): { readonly image: ImageRef; readonly profiles: ReadonlyArray<ProfileName> } => {
  const overrideImage = Option.flatMap(override, (o) => Option.fromNullishOr(o.container.image))
  return {
    image: input.image ?? Option.getOrElse(overrideImage, () => document.defaults.defaultImage),
    profiles: [
      ...new Set([
        ...document.defaults.profiles,
        ...Option.match(override, { onNone: () => [], onSome: (o) => o.container.profiles }),
        ...(input.profiles ?? [])
      ])
    ]
  }
}
