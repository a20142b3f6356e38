SELECT -- a comment
  a /* multi
line */ , b
	FROM t
