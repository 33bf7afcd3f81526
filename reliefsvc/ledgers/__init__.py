"""Ledgers (台账): the Excel workbooks a county office files, and the open-contracting export."""
