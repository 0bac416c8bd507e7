import { useState, type FormEvent } from "react";
import { Button } from "../../components/Button";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import { FormError, fieldError } from "../../components/FormError";
import { TimeZonePicker } from "../../components/TimeZonePicker";
import type { Brand } from "../../features/brands/brandQueries";

export interface BrandFormValues {
  name: string;
  toneOfVoice: string;
  targetAudience: string;
  description: string;
  website: string;
  language: string;
  timeZone: string;
}

const LANGUAGES: Array<[string, string]> = [
  ["en", "English"],
  ["es", "Spanish"],
  ["fr", "French"],
  ["de", "German"],
  ["it", "Italian"],
  ["pt", "Portuguese"],
  ["nl", "Dutch"],
  ["pl", "Polish"],
  ["sv", "Swedish"],
  ["tr", "Turkish"],
  ["ar", "Arabic"],
  ["hi", "Hindi"],
  ["ja", "Japanese"],
  ["ko", "Korean"],
  ["zh", "Chinese"],
];

const FIELDS = ["name", "toneOfVoice", "targetAudience", "description", "website", "language", "timeZone"] as const;

export function brandToValues(brand: Brand | undefined, defaultZone: string): BrandFormValues {
  return {
    name: brand?.name ?? "",
    toneOfVoice: brand?.toneOfVoice ?? "",
    targetAudience: brand?.targetAudience ?? "",
    description: brand?.description ?? "",
    website: brand?.website ?? "",
    language: brand?.language ?? "en",
    timeZone: brand?.timeZone ?? defaultZone,
  };
}

/** Empty optional text is sent as null, so clearing a field really clears it on the server. */
export function valuesToBody(values: BrandFormValues) {
  const orNull = (text: string) => (text.trim() === "" ? null : text.trim());
  return {
    name: values.name.trim(),
    toneOfVoice: orNull(values.toneOfVoice),
    targetAudience: orNull(values.targetAudience),
    description: orNull(values.description),
    website: orNull(values.website),
    language: values.language,
    timeZone: values.timeZone,
  };
}

interface BrandFormProps {
  initial: BrandFormValues;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit(values: BrandFormValues): void;
  onCancel(): void;
}

export function BrandForm({ initial, submitLabel, busy, error, onSubmit, onCancel }: BrandFormProps) {
  const [values, setValues] = useState(initial);
  const set = (key: keyof BrandFormValues) => (event: { target: { value: string } }) => setValues({ ...values, [key]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(values);
  };
  const languageKnown = LANGUAGES.some(([code]) => code === values.language);
  return (
    <form className="form card" onSubmit={submit} noValidate>
      <FormError error={error} fields={FIELDS} />
      <TextField label="Brand name" name="name" value={values.name} onChange={set("name")} error={fieldError(error, "name")} required maxLength={120} />
      <TextAreaField label="Tone of voice" name="toneOfVoice" value={values.toneOfVoice} onChange={set("toneOfVoice")} error={fieldError(error, "toneOfVoice")} hint="How the brand sounds, e.g. “friendly, witty, no jargon”. The AI assistant writes in this voice." maxLength={2000} />
      <TextAreaField label="Target audience" name="targetAudience" value={values.targetAudience} onChange={set("targetAudience")} error={fieldError(error, "targetAudience")} hint="Who you write for, e.g. “founders of small SaaS companies”." maxLength={2000} />
      <TextAreaField label="Description" name="description" value={values.description} onChange={set("description")} error={fieldError(error, "description")} maxLength={5000} />
      <div className="form-row">
        <TextField label="Website" type="url" name="website" placeholder="https://example.com" value={values.website} onChange={set("website")} error={fieldError(error, "website")} />
        <SelectField label="Language" name="language" value={values.language} onChange={set("language")} error={fieldError(error, "language")}>
          {!languageKnown && <option value={values.language}>{values.language}</option>}
          {LANGUAGES.map(([code, name]) => (
            <option key={code} value={code}>
              {name}
            </option>
          ))}
        </SelectField>
      </div>
      <TimeZonePicker label="Time zone" name="timeZone" value={values.timeZone} onChange={(timeZone) => setValues({ ...values, timeZone })} error={fieldError(error, "timeZone")} />
      <div className="form-actions">
        <Button type="submit" variant="primary" busy={busy}>
          {submitLabel}
        </Button>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}
