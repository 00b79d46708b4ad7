// One quote or order as a row of a list, "My" or the catalogue's: both lists show the same rows
// (`ListRow`), the catalogue with owner and date of the last change besides.
import type { ListRow } from "oms-sync/react";
import { memo } from "react";
import { shortDate } from "../format.js";
import { href } from "../route.js";
import { RowState, rowTotal } from "./common.js";

/** An unchanged row keeps its identity, so it is not drawn again when another row changes. */
export const DocumentRow = memo(function DocumentRow({
  row,
  kind,
  catalogue = false,
}: {
  row: ListRow;
  kind: "quote" | "order";
  /** Owner and date columns, and the row's test id of the catalogue. */
  catalogue?: boolean;
}) {
  return (
    <tr data-testid={catalogue ? `row-${row.id}` : undefined}>
      <td data-label="Project">
        <a href={href(kind, row.id)} data-testid={catalogue ? undefined : `open-${row.id}`}>
          {row.project || "(untitled)"}
        </a>
      </td>
      {kind === "order" && (
        <td data-label="Status">
          <RowState row={row} />
        </td>
      )}
      <td data-label="Customer">{row.customer}</td>
      {catalogue && <td data-label="Owner">{row.owner}</td>}
      <td className="num" data-label="Lines">
        {row.lines}
      </td>
      <td className="num" data-label="Total">
        {rowTotal(row)}
      </td>
      {catalogue && (
        <td className="num" data-label="Changed">
          {shortDate(row.updatedAt)}
        </td>
      )}
    </tr>
  );
});
