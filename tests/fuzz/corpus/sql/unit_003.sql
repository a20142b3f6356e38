SELECT x FROM s WHERE x = 'hello'
