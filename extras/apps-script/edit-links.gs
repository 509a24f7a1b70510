/**
 * cluster-sync: each form response's own edit link in an "Edit link" column of the responses sheet.
 *
 * Bound to the responses spreadsheet (Extensions > Apps Script). Two entry points:
 *   - onResponse(e): run by an installable "On form submit" trigger of the spreadsheet; writes the
 *     link of the response just submitted (or edited) into that response's row (e.range).
 *   - fillEditLinks(): run once by hand; writes the link of every existing response into its row.
 *   - installTrigger(): run once by hand; creates the trigger (same as adding it in Triggers).
 * The script writes only into the "Edit link" column (found by its header, added on the right when
 * missing). A row it cannot match to exactly one response is left as it is.
 * Step-by-step guide: README.md beside this file.
 */

var EDIT_LINK_HEADER = 'Edit link';
var TIMESTAMP_HEADER = 'Timestamp';

/** The trigger's function: e.range is the row the form just wrote. */
function onResponse(e) {
  var sheet = e.range.getSheet();
  var row = e.range.getRow();
  var headers = headerRow_(sheet);
  var stamp = sheet.getRange(row, columnOf_(headers, TIMESTAMP_HEADER)).getValue();
  if (!(stamp instanceof Date)) {
    console.warn('Row ' + row + ': no Timestamp, left as it is.');
    return;
  }
  var form = formOf_(sheet);
  // Only responses submitted from one minute before: the newest is the one that fired the trigger.
  var recent = form.getResponses(new Date(stamp.getTime() - 60 * 1000));
  var found = responsesAt_(recent, stamp);
  if (found.length !== 1) {
    console.warn('Row ' + row + ': ' + found.length + ' responses at ' + stamp + ', left as it is.');
    return;
  }
  var column = editLinkColumn_(sheet, headers);
  sheet.getRange(row, column).setValue(found[0].getEditResponseUrl());
}

/** Run once: fills the Edit link of every response already in the sheet. */
function fillEditLinks() {
  var sheet = responsesSheet_();
  var headers = headerRow_(sheet);
  var last = sheet.getLastRow();
  if (last < 2) return;
  var stamps = sheet.getRange(2, columnOf_(headers, TIMESTAMP_HEADER), last - 1, 1).getValues();
  var responses = formOf_(sheet).getResponses();
  var column = editLinkColumn_(sheet, headers);
  var links = sheet.getRange(2, column, last - 1, 1).getValues();
  var filled = 0, unmatched = 0;
  for (var i = 0; i < stamps.length; i++) {
    var stamp = stamps[i][0];
    if (!(stamp instanceof Date)) continue; // a blank row (a deleted response)
    var found = responsesAt_(responses, stamp);
    if (found.length === 1) {
      var link = found[0].getEditResponseUrl();
      if (links[i][0] !== link) { links[i][0] = link; filled++; }
    } else {
      unmatched++;
    }
  }
  sheet.getRange(2, column, last - 1, 1).setValues(links);
  console.log(filled + ' edit link(s) written; ' + unmatched + ' row(s) matched no single response.');
}

/** Run once: the installable "On form submit" trigger of this spreadsheet. */
function installTrigger() {
  var spreadsheet = SpreadsheetApp.getActiveSpreadsheet();
  ScriptApp.getProjectTriggers().forEach(function (t) {
    if (t.getHandlerFunction() === 'onResponse') ScriptApp.deleteTrigger(t);
  });
  ScriptApp.newTrigger('onResponse').forSpreadsheet(spreadsheet).onFormSubmit().create();
}

// -- helpers ---------------------------------------------------------------------------------

/** The responses whose timestamp is the row's, to the second (the sheet drops milliseconds). */
function responsesAt_(responses, stamp) {
  var second = Math.floor(stamp.getTime() / 1000);
  return responses.filter(function (r) {
    return Math.floor(r.getTimestamp().getTime() / 1000) === second;
  });
}

function responsesSheet_() {
  var sheets = SpreadsheetApp.getActiveSpreadsheet().getSheets().filter(function (s) {
    return s.getFormUrl();
  });
  if (sheets.length !== 1) {
    throw new Error(sheets.length + ' tabs receive form responses; this script expects one.');
  }
  return sheets[0];
}

function formOf_(sheet) {
  var url = sheet.getFormUrl();
  if (!url) throw new Error('The tab "' + sheet.getName() + '" does not receive form responses.');
  return FormApp.openByUrl(url);
}

function headerRow_(sheet) {
  return sheet.getRange(1, 1, 1, sheet.getLastColumn()).getValues()[0].map(function (h) {
    return String(h).trim().toLowerCase();
  });
}

function columnOf_(headers, name) {
  var index = headers.indexOf(name.toLowerCase());
  if (index < 0) throw new Error('No "' + name + '" column in the header row.');
  return index + 1;
}

/** The Edit link column, added as the last column when the sheet has none yet. */
function editLinkColumn_(sheet, headers) {
  var index = headers.indexOf(EDIT_LINK_HEADER.toLowerCase());
  if (index >= 0) return index + 1;
  var column = sheet.getLastColumn() + 1;
  if (column > sheet.getMaxColumns()) sheet.insertColumnAfter(sheet.getMaxColumns());
  sheet.getRange(1, column).setValue(EDIT_LINK_HEADER);
  return column;
}
