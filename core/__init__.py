"""Coach's core: conversation, tools, planning rules, sync and the Intervals.icu client."""
