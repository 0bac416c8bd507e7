import { useId, useState, type ChangeEvent, type Dispatch } from "react";
import { api } from "../../api/client";
import { errorMessage, unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import type { ComposerAction, UploadedMedia } from "./composerState";

const ACCEPT = "image/jpeg,image/png,image/gif,image/webp,video/mp4,video/quicktime";
const MAX_MEDIA = 10;

/** POST /media is multipart: the generated types describe the fields, FormData carries them. */
async function uploadMedia(brandId: string, file: File) {
  return unwrap(
    api.POST("/api/v1/media", {
      // The spec types the binary `file` field as a string; the serializer below sends the File.
      body: { brandId, file: file as unknown as string },
      bodySerializer: (body) => {
        const form = new FormData();
        form.append("brandId", body.brandId);
        form.append("file", file, file.name);
        return form;
      },
    }),
  );
}

function MediaThumb({ media, onRemove }: { media: UploadedMedia; onRemove(): void }) {
  const uploading = media.id.startsWith("local-");
  return (
    <figure style={{ margin: 0, position: "relative" }} aria-busy={uploading}>
      {media.kind === "video" || media.contentType.startsWith("video/") ? (
        <video src={media.previewUrl} muted aria-label={media.filename} />
      ) : (
        <img src={media.previewUrl} alt={media.filename} />
      )}
      <figcaption className="row small" style={{ justifyContent: "space-between", gap: 4 }}>
        <span className="muted">{uploading ? "Uploading…" : "Ready"}</span>
        <Button size="sm" variant="ghost" onClick={onRemove} aria-label={`Remove ${media.filename}`} disabled={uploading}>
          ×
        </Button>
      </figcaption>
    </figure>
  );
}

export function MediaPicker({ brandId, media, dispatch }: { brandId: string; media: UploadedMedia[]; dispatch: Dispatch<ComposerAction> }) {
  const inputId = useId();
  const [error, setError] = useState<string | null>(null);

  const onFiles = async (event: ChangeEvent<HTMLInputElement>) => {
    const files = Array.from(event.target.files ?? []).slice(0, MAX_MEDIA - media.length);
    event.target.value = "";
    setError(null);
    await Promise.all(
      files.map(async (file, index) => {
        const tempId = `local-${Date.now()}-${index}`;
        const previewUrl = URL.createObjectURL(file);
        dispatch({ type: "addMedia", media: { id: tempId, kind: file.type.startsWith("video/") ? "video" : "image", contentType: file.type, previewUrl, filename: file.name } });
        try {
          const uploaded = await uploadMedia(brandId, file);
          // Keep showing the local copy: it is already decoded, and the server URL may need auth.
          dispatch({ type: "replaceMedia", tempId, media: { id: uploaded.id, kind: uploaded.kind, contentType: uploaded.contentType, previewUrl, filename: uploaded.filename ?? file.name, serverUrl: uploaded.url } });
        } catch (failure) {
          dispatch({ type: "removeMedia", id: tempId });
          URL.revokeObjectURL(previewUrl);
          setError(`${file.name}: ${errorMessage(failure)}`);
        }
      }),
    );
  };

  return (
    <div className="stack" style={{ gap: 8 }}>
      <div className="row">
        <label htmlFor={inputId} className="btn btn-secondary btn-sm" style={{ cursor: "pointer" }}>
          Add images or video
        </label>
        <input id={inputId} type="file" accept={ACCEPT} multiple className="visually-hidden" onChange={(e) => void onFiles(e)} disabled={media.length >= MAX_MEDIA} />
        <span className="small muted">JPEG, PNG, GIF, WEBP, MP4 or MOV · up to {MAX_MEDIA}</span>
      </div>
      {error && (
        <div className="alert alert-error" role="alert">
          {error}
        </div>
      )}
      {media.length > 0 && (
        <div className="media-grid">
          {media.map((m) => (
            <MediaThumb key={m.id} media={m} onRemove={() => dispatch({ type: "removeMedia", id: m.id })} />
          ))}
        </div>
      )}
    </div>
  );
}
