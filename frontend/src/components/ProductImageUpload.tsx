/**
 * The operator's control for a product's picture: shows it, uploads a PNG, JPEG, WebP or GIF in
 * its place (the server checks and re-encodes it), or goes back to the product's illustration.
 * Self-contained: give it a product; it reports the updated product through `onChanged`.
 */
import { useId, useRef, useState, type FormEvent } from "react";
import { api } from "../lib/api";
import type { Product } from "../lib/types";
import { useCommand } from "../state/useCommand";
import { productImage } from "./ProductPicture";

export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"] as const;
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

/** Why a chosen file cannot be sent, said before uploading it (the server checks again). */
export function imageFileProblem(file: Pick<File, "type" | "size">): string | null {
  if (file.type === "image/svg+xml") return "SVG images are not accepted: choose a PNG, JPEG, WebP or GIF.";
  if (!(IMAGE_TYPES as readonly string[]).includes(file.type)) return "Choose a PNG, JPEG, WebP or GIF image.";
  if (file.size > MAX_IMAGE_BYTES) return "The image is larger than 5 MB.";
  return null;
}

export function ProductImageUpload({ product, onChanged }: { product: Product; onChanged?: (product: Product) => void }) {
  const inputId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const command = useCommand((action: () => Promise<Product>) => action(), {
    onSuccess: (updated) => {
      setFile(null);
      if (input.current) input.current.value = "";
      onChanged?.(updated);
    },
  });
  const shown = command.result?.id === product.id ? command.result : product;
  const uploaded = shown.imageUrl.startsWith("/images/uploads/");

  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    if (!file) return setProblem("Choose an image first.");
    const refused = imageFileProblem(file);
    setProblem(refused);
    if (!refused) command.run(() => api.uploadProductImage(product.id, file));
  };
  const message = problem ?? command.error;

  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-3" data-testid="product-image-upload">
      <img src={productImage(shown)} alt={`Picture of ${product.name}`} className="h-20 w-20 rounded border border-slate-200 bg-slate-100 object-cover" />
      <div className="min-w-48 flex-1">
        <label htmlFor={inputId} className="block text-sm font-medium">Product image</label>
        <input
          id={inputId}
          ref={input}
          type="file"
          accept={IMAGE_TYPES.join(",")}
          onChange={(e) => {
            setFile(e.target.files?.[0] ?? null);
            setProblem(null);
          }}
          className="block w-full text-sm"
        />
        <p className="text-xs text-slate-500">PNG, JPEG, WebP or GIF, up to 5 MB.</p>
      </div>
      <button type="submit" disabled={command.busy} className="rounded bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 disabled:bg-slate-400">
        Upload image
      </button>
      {uploaded ? (
        <button type="button" disabled={command.busy} onClick={() => command.run(() => api.removeProductImage(product.id))} className="rounded border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 focus-visible:outline-2 disabled:opacity-40">
          Use illustration
        </button>
      ) : null}
      {message ? (
        <p role="alert" className="w-full text-sm text-red-700">{message}</p>
      ) : command.result ? (
        <p role="status" className="w-full text-sm text-emerald-700">Image updated</p>
      ) : null}
    </form>
  );
}
