module digits.local/runc-capfilter

go 1.22
