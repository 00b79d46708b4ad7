// Opens a folder storage (which migrates a folder of the first layout) and says DONE: a process
// for storage-file-layout.test.ts to kill during the migration.
// Usage: tsx tests/integration/storage-file-open.ts <folder>
import { FileStorageAdapter } from "../../src/adapters/storage-file.js";

await new FileStorageAdapter(process.argv[2] as string).open();
process.stdout.write("DONE\n");
