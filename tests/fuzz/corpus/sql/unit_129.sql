SELECT a   +
	 b /* note */ * 2 FROM s
