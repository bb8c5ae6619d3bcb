"""Working days of the Chinese calendar (SPEC §9 "Days"): official holidays and
adjusted working days (调休), shared by objections, complaints and partners'
acknowledgements."""
