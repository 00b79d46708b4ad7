// A field that writes the document when the user commits the value (leaves the field or presses
// Enter), not on every keystroke: the browser's "change" event, listened to directly, because
// React's onChange fires per keystroke.
import { type InputHTMLAttributes, useEffect, useRef } from "react";

type Props = Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "defaultValue" | "onChange"> & {
  value: string;
  onCommit(value: string): void;
};

export function CommitInput({ value, onCommit, ...rest }: Props) {
  const ref = useRef<HTMLInputElement>(null);
  const commit = useRef(onCommit);
  commit.current = onCommit;
  useEffect(() => {
    const input = ref.current;
    if (!input) return;
    // The write happens in the event's own task: a reload right after it keeps it.
    const listener = () => commit.current(input.value);
    input.addEventListener("change", listener);
    return () => input.removeEventListener("change", listener);
  }, []);
  // A change from elsewhere (another device, the relay) shows unless the user is typing here.
  useEffect(() => {
    const input = ref.current;
    if (input && document.activeElement !== input && input.value !== value) input.value = value;
  }, [value]);
  return <input ref={ref} defaultValue={value} {...rest} />;
}
